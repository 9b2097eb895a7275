"""Resolving pins (commit + sha256) for model sources, for `python -m feat_space pin`.

Run where the Hub is reachable. The commit comes from the file's metadata (`X-Repo-Commit`); for LFS
files the Hub's ETag is the content's sha256, and `verify=True` downloads the file at that commit and
hashes it, which also covers non-LFS files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from huggingface_hub import get_hf_file_metadata, hf_hub_url

from .download import file_sha256, hub_download, hub_errors
from .errors import ModelOfflineError
from .settings import hub_settings
from .sources import ModelSource

_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Pin:
    source: ModelSource
    commit: str
    sha256: str | None
    size: int | None
    how: str  # where the sha256 came from: "lfs-etag", "download" or "unknown"

    def differs(self) -> bool:
        """Whether this pin would change the source entry."""
        return (self.commit, self.sha256) != (self.source.revision, self.source.sha256) or not self.source.pinned

    def entry(self) -> str:
        """The fields to write into `feat_space/weights/sources.py` for this source."""
        sha = f'"{self.sha256}"' if self.sha256 else "None  # TODO: unknown, run `pin --verify`"
        size = f"{self.size:_}" if self.size is not None else "None"
        return (
            f"# {self.source.name}: {self.source.repo_id}/{self.source.filename} (sha256 from {self.how})\n"
            f'revision="{self.commit}",\nsha256={sha},\npinned={self.sha256 is not None},\nsize={size},'
        )


def resolve_pin(
    source: ModelSource, *, revision: str | None = None, verify: bool = False, token: str | bool | None = None
) -> Pin:
    """Commit and sha256 of `source`'s file at `revision` (default: the source's own revision)."""
    settings = hub_settings()
    revision = revision or source.revision
    if settings.offline:
        raise ModelOfflineError(f"Resolving the pin of {source.label} needs the Hub; unset HF_HUB_OFFLINE.")
    with hub_errors(source, settings, revision):
        url = hf_hub_url(source.repo_id, source.filename, revision=revision, endpoint=settings.endpoint)
        meta = get_hf_file_metadata(url, token=token, endpoint=settings.endpoint)
    commit = meta.commit_hash or revision
    etag = (meta.etag or "").strip('"').lower()
    sha, how = (etag, "lfs-etag") if _SHA256.fullmatch(etag) else (None, "unknown")
    if verify:
        hashed = file_sha256(hub_download(source, revision=commit, token=token))
        if sha is not None and hashed != sha:
            how = f"download (the Hub's LFS etag says {sha})"
        else:
            how = "download" + (", matches the LFS etag" if sha else "")
        sha = hashed
    return Pin(source=source, commit=commit, sha256=sha, size=meta.size, how=how)


__all__ = ["Pin", "resolve_pin"]
