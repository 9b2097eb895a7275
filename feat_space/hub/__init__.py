"""Pretrained model files: where they come from (`sources`), and fetching them verified (`fetch`)."""

from .download import UnpinnedSourceWarning, commit_of, fetch, file_sha256
from .errors import ChecksumError, ModelAccessError, ModelDownloadError, ModelNotFoundError, ModelOfflineError
from .settings import HubSettings, feat_cache_dir, hub_settings
from .sources import CLIP_MODEL_NAME, REAL_PROFILE, SOURCES, ModelSource, required_sources

__all__ = [
    "CLIP_MODEL_NAME",
    "REAL_PROFILE",
    "SOURCES",
    "ChecksumError",
    "HubSettings",
    "ModelAccessError",
    "ModelDownloadError",
    "ModelNotFoundError",
    "ModelOfflineError",
    "ModelSource",
    "UnpinnedSourceWarning",
    "commit_of",
    "feat_cache_dir",
    "fetch",
    "file_sha256",
    "hub_settings",
    "required_sources",
]
