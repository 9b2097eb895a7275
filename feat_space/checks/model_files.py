"""The doctor's first step: every model file of the profile, downloaded (or found in the cache) and
checked against its pinned sha256; an unpinned file's commit, digest and size, with the command that
pins it. The tiny profile's files are built here and their digests reported."""

from __future__ import annotations

import warnings
from pathlib import Path

from ..errors import FeatError
from ..weights.download import UnpinnedSourceWarning, commit_of, fetch, file_sha256
from ..weights.profiles import Profile, RealProfile
from ..weights.roles import ROLES, ModelRole
from ..weights.sources import ModelSource
from .findings import FAIL, INFO, OK, Finding

STEP = "model files"


def check_model_files(profile: Profile, *, unpinned_ok: bool = False) -> tuple[list[Finding], dict[ModelRole, Path]]:
    """Findings per file, and the local path of each role whose file could be had. An unpinned file is a
    failure unless `unpinned_ok` (a training job, which cannot pin: its digest is still reported)."""
    if not isinstance(profile, RealProfile):
        return _local_files(profile)
    findings: list[Finding] = []
    fetched: dict[str, Path] = {}
    roles = {role: profile.source(role) for role in ROLES}
    for source in {s.name: s for s in roles.values()}.values():
        finding, path = _check_source(source, unpinned_ok)
        findings.append(finding)
        if path is not None:
            fetched[source.name] = path
    return findings, {role: fetched[s.name] for role, s in roles.items() if s.name in fetched}


def _check_source(source: ModelSource, unpinned_ok: bool) -> tuple[Finding, Path | None]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnpinnedSourceWarning)
        try:
            path = fetch(source)
        except FeatError as e:  # each says what is wrong and what to do
            return Finding(STEP, source.name, FAIL, str(e)), None
    for warning in caught:
        if not issubclass(warning.category, UnpinnedSourceWarning):
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    size = path.stat().st_size
    digest = file_sha256(path)
    where = f"{source.repo_id}/{source.filename}"
    if not source.pinned:
        commit = commit_of(path) or "unknown"
        return (
            Finding(
                STEP,
                source.name,
                INFO if unpinned_ok else FAIL,
                f"NOT PINNED: {where} at {source.revision!r} is commit {commit}, sha256 {digest}, {size:_} bytes",
                fix=f"pin it (where the Hub is reachable): feat-space models pin {source.name}",
                metrics={"commit": commit, "sha256": digest, "size": size},
            ),
            path,
        )
    return (
        Finding(
            STEP,
            source.name,
            OK,
            f"{where}@{source.revision[:12]}: sha256 {digest[:16]}… matches the pin, {size:_} bytes",
            metrics={"sha256": digest, "size": size},
        ),
        path,
    )


def _local_files(profile: Profile) -> tuple[list[Finding], dict[ModelRole, Path]]:
    findings, paths = [], {}
    for role in ROLES:
        try:
            path = profile.model_file(role)
        except FeatError as e:
            findings.append(Finding(STEP, role.value, FAIL, str(e)))
            continue
        paths[role] = path
        digest = file_sha256(path)
        findings.append(
            Finding(
                STEP,
                role.value,
                INFO,
                f"{path.name} built here ({profile.name} profile: nothing to pin), sha256 {digest[:16]}…, "
                f"{path.stat().st_size:_} bytes",
                metrics={"sha256": digest},
            )
        )
    return findings, paths


__all__ = ["check_model_files"]
