"""Why a model file could not be had, each naming repo, file and what to do about it."""

from __future__ import annotations

from ..errors import FeatError


class ModelDownloadError(FeatError):
    """A model file could not be downloaded or found in the local cache."""


class ModelOfflineError(ModelDownloadError):
    """Downloads are off (HF_HUB_OFFLINE) or the Hub cannot be reached, and the file is not cached."""


class ModelNotFoundError(ModelDownloadError):
    """The repository, revision or file does not exist on the Hub (or is private)."""


class ModelAccessError(ModelDownloadError):
    """The repository exists but needs a token or accepted terms."""


class ChecksumError(ModelDownloadError):
    """A downloaded file's sha256 is not the pinned one: damaged, or changed upstream."""


__all__ = ["ChecksumError", "ModelAccessError", "ModelDownloadError", "ModelNotFoundError", "ModelOfflineError"]
