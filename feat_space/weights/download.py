"""Fetching model files through huggingface_hub, verified against their pinned sha256.

`fetch(source)` = `hf_hub_download` (which honours HF_HOME / HF_HUB_CACHE, HF_HUB_OFFLINE, HF_ENDPOINT
and tokens from HF_TOKEN or `hf auth login`) + a sha256 check of the file on disk. Every failure is a
`ModelDownloadError` (a `FeatError`) naming the repo, the file and the fix.

Hashing 1.2 GB takes seconds, so a verified digest is remembered per (path, size, mtime) in memory and
in `<feat cache>/verified.json`; a changed file is hashed again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from huggingface_hub import hf_hub_download
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from ..errors import first_line
from .errors import ChecksumError, ModelAccessError, ModelDownloadError, ModelNotFoundError, ModelOfflineError
from .settings import HubSettings, feat_cache_dir, hub_settings
from .sources import COMMIT, ModelSource

_TRANSPORT_ERRORS: tuple[type[Exception], ...] = (ConnectionError,)
try:  # the HTTP client huggingface_hub 2.x is built on
    from httpx2 import HTTPError

    _TRANSPORT_ERRORS = (HTTPError, ConnectionError)
except ImportError:  # pragma: no cover - other huggingface_hub versions
    pass

log = logging.getLogger(__name__)

_SNAPSHOT_COMMIT = re.compile(rf"snapshots[/\\]({COMMIT})[/\\]")
_CHUNK = 8 << 20


class UnpinnedSourceWarning(UserWarning):
    """A model file was used without a pinned commit and sha256: its content is not verified."""


def fetch(source: ModelSource, *, token: str | bool | None = None, force: bool = False) -> Path:
    """Local path of `source`'s file: from the cache, else downloaded; checked against its sha256.

    Unpinned sources are downloaded too, with an `UnpinnedSourceWarning` giving the commit and digest
    actually obtained, so they can be pinned (`feat-space models pin` writes the pins file).
    """
    path = hub_download(source, token=token, force=force)
    actual = file_sha256(path)
    if source.sha256 is not None and actual != source.sha256:
        raise ChecksumError(
            f"{source.filename} from {source.repo_id} (revision {source.revision}) is corrupt or not the pinned file: "
            f"its sha256 is {actual}, expected {source.sha256} ({path}). Download it again with "
            f"`python -m feat_space download --force`; if it fails again, the file changed upstream: check the new "
            f"one and pin it again with `feat-space models pin {source.name}`."
        )
    if not source.pinned:
        commit = commit_of(path) or "unknown"
        warnings.warn(
            UnpinnedSourceWarning(
                f"UNPINNED model file {source.filename} from {source.repo_id}: revision {source.revision!r} "
                f"resolved to commit {commit}, sha256 {actual}. Its content is not verified; pin it into "
                f"the pins file with `feat-space models pin {source.name}`."
            ),
            stacklevel=2,
        )
    return path


def commit_of(path: Path) -> str | None:
    """The commit a file in the hub cache was downloaded at (its snapshot folder)."""
    match = _SNAPSHOT_COMMIT.search(str(path))
    return match.group(1) if match else None


def hub_download(
    source: ModelSource,
    *,
    revision: str | None = None,
    token: str | bool | None = None,
    force: bool = False,
    local_dir: Path | None = None,
) -> Path:
    """The one call into `hf_hub_download`: `source`'s file at `revision` (default: the source's own),
    honouring `hub_settings()` (endpoint, cache, offline) as they are now. Unverified (`fetch` checks
    the sha256); failures are `ModelDownloadError`s naming repo, file and the fix. With `local_dir`
    the file lands there instead of the shared cache (a user's private file must not outlive them)."""
    settings = hub_settings()
    revision = revision or source.revision
    with hub_errors(source, settings, revision):
        return Path(
            hf_hub_download(
                source.repo_id,
                source.filename,
                revision=revision,
                cache_dir=settings.cache_dir,
                local_dir=local_dir,
                endpoint=settings.endpoint,
                token=token,
                local_files_only=settings.offline,
                force_download=force and not settings.offline,
            )
        )


@contextmanager
def hub_errors(source: ModelSource, settings: HubSettings, revision: str | None = None) -> Iterator[None]:
    """Turn huggingface_hub's exceptions into `ModelDownloadError`s naming repo, file and the fix."""
    revision = revision or source.revision
    where = f"{source.filename} from the Hub repo {source.repo_id} (revision {revision})"
    try:
        yield
    except GatedRepoError:
        raise ModelAccessError(
            f"Cannot download {where}: the repository is gated. Accept its terms on {settings.endpoint}/"
            f"{source.repo_id} with your account, then set HF_TOKEN (or run `hf auth login`)."
        ) from None
    except RepositoryNotFoundError:
        raise ModelNotFoundError(
            f"Cannot download {where}: the repository does not exist at {settings.endpoint} or is private. "
            "If it is private, set HF_TOKEN (or run `hf auth login`); if it was removed, point this source "
            "to another copy in feat_space/weights/sources.py."
        ) from None
    except RevisionNotFoundError:
        raise ModelNotFoundError(
            f"Cannot download {where}: the repository has no revision {revision!r}. "
            f"Pin the current one with `feat-space models pin {source.name} --revision main`."
        ) from None
    except RemoteEntryNotFoundError:
        raise ModelNotFoundError(
            f"Cannot download {where}: the repository has no such file at that revision. "
            "Fix the filename in feat_space/weights/sources.py, or the revision with `feat-space models pin`."
        ) from None
    except (LocalEntryNotFoundError, OfflineModeIsEnabled) as e:
        if settings.offline:
            raise ModelOfflineError(
                f"{where} is not in the local cache ({settings.cache_dir}) and downloads are off (HF_HUB_OFFLINE=1). "
                "Run `python -m feat_space download` once with network access and the same HF_HOME, or unset "
                "HF_HUB_OFFLINE. (FEAT_PROFILE=tiny runs offline with untrained random models.)"
            ) from None
        cause = first_line(e.__cause__) if e.__cause__ else first_line(e)
        raise ModelOfflineError(
            f"Cannot reach the Hub at {settings.endpoint} to download {where}, and it is not in the local cache "
            f"({settings.cache_dir}): {cause}. Check the network connection, proxy or HF_ENDPOINT, or run "
            "`python -m feat_space download` where the Hub is reachable, with the same HF_HOME."
        ) from None
    except HfHubHTTPError as e:
        status = e.response.status_code if e.response is not None else "?"
        error = ModelAccessError if status in (401, 403) else ModelDownloadError
        fix = (
            "Set a valid HF_TOKEN (or run `hf auth login`)."
            if error is ModelAccessError
            else "Try again later, or run `python -m feat_space download` where the Hub is reachable."
        )
        raise error(f"Cannot download {where}: HTTP {status} from {settings.endpoint}. {fix}") from None
    except _TRANSPORT_ERRORS as e:  # outside hf_hub_download's own fallbacks (metadata calls)
        raise ModelOfflineError(
            f"Cannot reach the Hub at {settings.endpoint} for {where}: {first_line(e)}. Check the network "
            "connection, proxy or HF_ENDPOINT."
        ) from None
    except ValueError as e:  # e.g. a malformed repo id
        raise ModelDownloadError(f"Cannot download {where}: {first_line(e)}") from None
    except OSError as e:  # disk full, unwritable cache, ...
        raise ModelDownloadError(
            f"Cannot store {where} in {settings.cache_dir}: {first_line(e)}. Free some disk space or point "
            "HF_HOME to a writable folder with room for the models."
        ) from None


# -- sha256 with a remembered verification --------------------------------------------------------

_memo: dict[tuple[str, int, int], str] = {}
_memo_lock = threading.Lock()


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file, hashed once per (real path, size, mtime): remembered in memory and on disk."""
    real = os.path.realpath(path)
    stat = os.stat(real)
    key = (real, stat.st_size, stat.st_mtime_ns)
    with _memo_lock:
        if key in _memo:
            return _memo[key]
        known = _load_record().get(real)
    if known and (known.get("size"), known.get("mtime_ns")) == key[1:]:
        digest = known["sha256"]
    else:
        digest = hash_file(real)
        _save_record(real, stat.st_size, stat.st_mtime_ns, digest)
    with _memo_lock:
        _memo[key] = digest
    return digest


def forget_digests() -> None:
    """Drop the digests remembered in memory; the on-disk record stays, as for a new process."""
    with _memo_lock:
        _memo.clear()


def hash_file(path: str | os.PathLike) -> str:
    """sha256 of a file's content, read in chunks: the expensive step `file_sha256` remembers."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _record_path() -> Path:
    return feat_cache_dir() / "verified.json"


def _load_record() -> dict:
    try:
        record = json.loads(_record_path().read_text())
        return record if isinstance(record, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_record(real: str, size: int, mtime_ns: int, digest: str) -> None:
    """Best effort: an unwritable cache only means hashing again next time."""
    path = _record_path()
    with _memo_lock:
        record = _load_record()
        record[real] = {"size": size, "mtime_ns": mtime_ns, "sha256": digest}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(json.dumps(record, indent=1, sort_keys=True))
            os.replace(tmp, path)
        except OSError as e:
            log.debug("cannot remember the digest of %s: %s", real, e)


__all__ = [
    "UnpinnedSourceWarning",
    "commit_of",
    "fetch",
    "file_sha256",
    "forget_digests",
    "hash_file",
    "hub_download",
    "hub_errors",
]
