"""Resolving pins (commit + sha256) for model sources and writing them, for `feat-space models pin`.

Run where the Hub is reachable. The commit comes from the file's metadata (`X-Repo-Commit`); for LFS
files the Hub's ETag is the content's sha256, and `verify=True` downloads the file at that commit and
hashes it, which also covers non-LFS files. `write_pins` stores resolved pins in the pins file
(`sources.pins_file()`) and reloads `sources.SOURCES`, so the same process downloads against them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import get_hf_file_metadata, hf_hub_url

from .download import file_sha256, hub_download, hub_errors
from .errors import ModelOfflineError
from .settings import hub_settings
from .sources import ModelSource, PinsFileError, pins_file, read_pins, reload_sources

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
        """This pin as its entry in the pins file (what `write_pins` stores), for people to read."""
        sha = self.sha256 or "unknown: run `feat-space models pin --verify`"
        return (
            f"# {self.source.name}: {self.source.repo_id}/{self.source.filename} (sha256 from {self.how})\n"
            + json.dumps({self.source.name: {"revision": self.commit, "sha256": sha, "size": self.size}})
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


def write_pins(pins: Iterable[Pin], path: Path | None = None) -> Path:
    """Store `pins` (those with a sha256) in the pins file, other entries kept; reload `SOURCES`."""
    path = path or pins_file()
    data = read_pins(path)
    for pin in pins:
        if pin.sha256 is None:
            continue  # a commit without a digest verifies nothing: `pin --verify` hashes the file
        data[pin.source.name] = {
            "revision": pin.commit,
            "sha256": pin.sha256,
            "size": pin.size,
            "provenance": f"Pinned by `feat-space models pin` from {hub_settings().endpoint} (sha256: {pin.how}).",
        }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=1) + "\n")
        os.replace(tmp, path)
    except OSError as e:
        raise PinsFileError(
            f"Cannot write the model pins {path}: {e}. Make it writable, or set FEAT_PINS_FILE."
        ) from None
    reload_sources()
    return path


__all__ = ["Pin", "resolve_pin", "write_pins"]
