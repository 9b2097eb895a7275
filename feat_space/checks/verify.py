"""`edits verify`: checking a registry edit from its YAML to its pictures, as a pull request's CI does.

For each edit (`edits/<name>.yaml`), in order, stopping at the first failure:

1. the YAML is valid (as `edits check`; a branch or tag in place of a commit fails here);
2. the Hub names the pinned commit and records a sha256 for its `model.safetensors` (Git LFS);
3. the checkpoint (`config.json`, `model.safetensors`) is downloaded at that commit and its sha256
   compared with the Hub's record;
4. it loads without executing code (safetensors, a validated config, exact shapes);
5. it matches the YAML's recipe on the profile's generator (W+ entries, blend and attention layers,
   resolutions, channels) and was trained for the YAML's prompt;
6. it runs on the sample photos at strengths 0.5 / 1 / 1.5 with the YAML's mask threshold
   (`checks.edit_sheet`): a contact sheet `<name>.png`, and its numbers.

`report.json` (all numbers) and `report.md` (a summary) land in the output folder. An entry without
weights (`status: unpublished`) passes after step 1: there is nothing else to check yet.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from huggingface_hub import get_hf_file_metadata, hf_hub_url
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from ..editing.edit import EditConfig, FeatEdit
from ..editing.storage import CONFIG_NAME, WEIGHTS_NAME, load_edit_files
from ..errors import FeatError, first_line
from ..models.stylegan2 import Generator
from ..registry.registry import edits_dir, parse_entry
from ..registry.schema import EditEntry, Published
from ..session.session import Session
from ..weights.download import hash_file, hub_download, hub_errors
from ..weights.settings import hub_settings
from ..weights.sources import ModelSource
from .edit_sheet import DEFAULT_STRENGTHS, contact_sheet, measure_edit, numbers_table

REPORT_JSON = "report.json"
REPORT_MD = "report.md"
_SHA256 = re.compile(r"[0-9a-f]{64}")

# The YAML's recipe field each EditConfig field comes from, to say which part of the YAML disagrees.
_RECIPE_FIELDS = {
    "mapped_layers": "recipe.mapped (W+ entries)",
    "blend_layer": "recipe.blend (blend layer)",
    "attention_layers": "recipe.attention (attention layers)",
    "attention_channels": "recipe.attention_channels",
    "mask_resolution": "recipe.mask_resolution",
    "mapper_depth": "the mapper's depth",
}


class VerifyError(FeatError):
    """One step of verifying an edit failed; the message says which and what to do."""


@dataclass
class EditVerification:
    """What verifying one edit found."""

    name: str
    path: str
    status: Literal["passed", "failed", "unpublished", "removed"] = "failed"
    passed: list[str] = field(default_factory=list)  # the steps passed, in words
    problem: str | None = None
    repo: str | None = None
    revision: str | None = None
    sha256: str | None = None
    sheet: str | None = None  # the contact sheet's file name in the output folder
    numbers: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status != "failed"


def changed_edits(base: str, folder: Path | None = None) -> tuple[list[Path], list[str]]:
    """YAMLs of the registry `folder` that differ from git revision `base` (committed or not):
    (the files to verify, the names of removed ones)."""
    folder = folder or edits_dir()
    try:
        merge_base = _git(folder, "merge-base", base, "HEAD")
        names = _git(folder, "diff", "--name-status", "--no-renames", "--relative", merge_base, "--", ".")
    except FileNotFoundError:
        raise VerifyError("`--changed` needs git on the PATH.") from None
    changed, removed = [], []
    for line in names.splitlines():
        status, _, name = line.partition("\t")
        if not name.endswith((".yaml", ".yml")) or "/" in name:
            continue
        if status == "D":
            removed.append(Path(name).stem)
        else:
            changed.append(folder / name)
    untracked = _git(folder, "ls-files", "--others", "--exclude-standard", "--", ".")
    changed += [folder / n for n in untracked.splitlines() if n.endswith((".yaml", ".yml")) and "/" not in n]
    return sorted(set(changed)), sorted(removed)


def _git(folder: Path, *args: str) -> str:
    run = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True)
    if run.returncode:
        raise VerifyError(f"git {' '.join(args)} failed in {folder}: {run.stderr.strip()}")
    return run.stdout.strip()


def entry_paths(names: Sequence[str], folder: Path | None = None) -> list[Path]:
    """`edits/<name>.yaml` for each name (a path to a YAML is taken as it is)."""
    folder = folder or edits_dir()
    paths = []
    for name in names:
        path = Path(name)
        if path.suffix in (".yaml", ".yml"):
            paths.append(path)
        elif (folder / f"{name}.yaml").is_file():
            paths.append(folder / f"{name}.yaml")
        else:
            known = ", ".join(sorted(p.stem for p in folder.glob("*.yaml")))
            raise VerifyError(f"No edit named {name!r} in {folder}; known: {known}.")
    return paths


def _parse(path: Path) -> EditEntry:
    entry, problems = parse_entry(path)
    if entry is None:
        raise VerifyError("the YAML is invalid (as `feat-space edits check` says):\n" + "\n".join(problems))
    return entry


def expected_sha256(repo: str, revision: str) -> str:
    """The sha256 the Hub records for the edit's weights at `revision` (their Git LFS pointer)."""
    settings = hub_settings()
    url = hf_hub_url(repo, WEIGHTS_NAME, revision=revision, endpoint=settings.endpoint)
    source = ModelSource(repo, repo, WEIGHTS_NAME, revision, sha256=None, pinned=False)
    with hub_errors(source, settings, revision):  # other failures: offline, HTTP errors, gated
        try:
            metadata = get_hf_file_metadata(url, endpoint=settings.endpoint)
        except RevisionNotFoundError:
            raise VerifyError(
                f"checkpoint.revision: {repo} has no commit {revision}. Pin the commit the upload created "
                "(`feat-space publish` writes it into the YAML), or publish the edit again."
            ) from None
        except EntryNotFoundError:
            raise VerifyError(
                f"checkpoint: {repo} has no {WEIGHTS_NAME} at commit {revision}: not an edit uploaded by "
                "`feat-space publish` (which uploads config.json and model.safetensors)."
            ) from None
        except GatedRepoError:
            raise
        except RepositoryNotFoundError:
            raise VerifyError(f"checkpoint.repo: {repo} does not exist on {settings.endpoint} or is private.") from None
    if metadata.commit_hash and metadata.commit_hash != revision:
        raise VerifyError(f"checkpoint.revision: the Hub answered for commit {metadata.commit_hash}, not {revision}.")
    etag = (metadata.etag or "").strip('"')
    if not _SHA256.fullmatch(etag):
        raise VerifyError(
            f"{repo}@{revision}: the Hub records no sha256 for {WEIGHTS_NAME} (it is not stored with Git LFS), "
            "so its content cannot be verified. Upload it with `feat-space publish`."
        )
    return etag


def download_checkpoint(repo: str, revision: str, sha256: str) -> tuple[Path, Path]:
    """(config.json, model.safetensors) at `revision`, downloaded afresh; the weights' sha256 checked."""
    paths = []
    for filename in (CONFIG_NAME, WEIGHTS_NAME):
        source = ModelSource(repo, repo, filename, revision, sha256=None, pinned=False)
        try:
            paths.append(hub_download(source, force=True))  # what the Hub serves now, not an old copy
        except FeatError as e:
            raise VerifyError(f"checkpoint: {e}") from None
    weights = paths[1]
    actual = hash_file(weights)
    if actual != sha256:
        for damaged in {weights.resolve(), weights}:  # keep the damaged file out of the cache
            damaged.unlink(missing_ok=True)
        raise VerifyError(
            f"sha256 mismatch: {WEIGHTS_NAME} from {repo}@{revision} hashes to {actual}, but the Hub's record for "
            f"that commit is {sha256}. The download was damaged or the server sent other content: run again; "
            "if it persists, publish the edit again."
        )
    return paths[0], paths[1]


def _layers(G: Generator, value: Any) -> str:
    """Generator layers with their resolutions, as a contributor reads a recipe: `6 (32²)`."""
    if value == "rgb" or isinstance(value, bool) or not isinstance(value, (int, tuple)):
        return str(value)
    layers = value if isinstance(value, tuple) else (value,)
    text = ", ".join(f"{k} ({G.resolution(k)}²)" for k in layers)
    return f"[{text}]" if isinstance(value, tuple) else text


def recipe_problems(entry: EditEntry, config: EditConfig, expected: EditConfig, G: Generator) -> list[str]:
    """Where the checkpoint's config disagrees with the YAML's recipe and prompt on generator `G`."""
    problems = []
    for name, where in _RECIPE_FIELDS.items():
        got, want = getattr(config, name), getattr(expected, name)
        if got != want:
            if name in ("blend_layer", "attention_layers"):
                got, want = _layers(G, got), _layers(G, want)
            problems.append(f"{where}: the checkpoint has {got}, the YAML's recipe gives {want}")
    if config.prompt != entry.prompt:
        problems.append(f"prompt: the checkpoint was trained for {config.prompt!r}, the YAML says {entry.prompt!r}")
    return problems


def check_recipe(entry: EditEntry, edit: FeatEdit, session: Session) -> None:
    G = session.generator
    config = edit.config
    if any(getattr(config, f) != getattr(G, f, None) for f in ("n_latent", "style_dim")) or (
        config.generator_size != G.size
    ):
        raise VerifyError(
            f"the checkpoint is for a {config.generator_size}² generator with {config.n_latent} W+ entries; the "
            f"{session.profile.name} profile's is {G.size}² with {G.n_latent}. Verify with the profile it was "
            "trained with (--profile)."
        )
    try:
        expected = entry.recipe.config_for(G, entry.prompt, strength=entry.defaults.strength)
    except ValueError as e:
        raise VerifyError(f"recipe: {e}") from None
    problems = recipe_problems(entry, config, expected, G)
    if problems:
        raise VerifyError("the checkpoint is for another recipe: " + "; ".join(problems) + ".")
    try:
        edit.check_generator(G)  # the channels its attention reads
    except FeatError as e:
        raise VerifyError(str(e)) from None


def _finite(numbers: Any) -> bool:
    if isinstance(numbers, dict):
        return all(_finite(v) for v in numbers.values())
    if isinstance(numbers, list):
        return all(_finite(v) for v in numbers)
    return not isinstance(numbers, float) or math.isfinite(numbers)


def verify_edit(
    path: Path,
    session_for: Callable[[], Session],
    out: Path,
    photos: Sequence[Any],
    strengths: Sequence[float] = DEFAULT_STRENGTHS,
) -> EditVerification:
    """Verify one YAML (module docstring). Never raises: a failure is the result's `problem`."""
    result = EditVerification(name=path.stem, path=str(path))
    try:
        entry = _parse(path)
        result.name = entry.name
        result.passed.append("YAML valid")
        checkpoint = entry.checkpoint
        if not isinstance(checkpoint, Published):
            result.status = "unpublished"
            return result
        result.repo, result.revision = checkpoint.repo, checkpoint.revision
        result.sha256 = expected_sha256(checkpoint.repo, checkpoint.revision)
        result.passed.append(f"{checkpoint.repo}@{checkpoint.revision[:12]} found")
        config_path, weights_path = download_checkpoint(checkpoint.repo, checkpoint.revision, result.sha256)
        result.passed.append("sha256 verified")
        try:
            edit = load_edit_files(config_path, weights_path)
        except FeatError as e:
            raise VerifyError(f"the checkpoint does not load: {e}") from None
        result.passed.append("loaded (safetensors, no code)")
        session = session_for()
        check_recipe(entry, edit, session)
        result.passed.append("matches the recipe")
        measured = measure_edit(
            session, edit, photos, strengths, threshold=entry.defaults.mask_threshold, name=entry.name
        )
        result.numbers = measured.numbers()
        if not _finite(result.numbers):
            raise VerifyError("the edit produced non-finite numbers (NaN or infinity) on the sample photos.")
        if all(p.mask_share == 0 for p in measured.photos):
            raise VerifyError(
                f"the edit's mask is empty on every sample photo at its mask threshold "
                f"{entry.defaults.mask_threshold:g}: it changes nothing. Lower defaults.mask_threshold."
            )
        out.mkdir(parents=True, exist_ok=True)
        result.sheet = f"{entry.name}.png"
        contact_sheet(measured).save(out / result.sheet)
        result.passed.append("ran on the sample photos")
        result.status = "passed"
    except FeatError as e:
        result.status, result.problem = "failed", str(e)
    except Exception as e:  # a bug, or a checkpoint broken past the checks: this edit fails, the others go on
        traceback.print_exc()
        result.status = "failed"
        result.problem = f"unexpected {type(e).__name__}: {first_line(e)} (the traceback is in the log above)"
    return result


def summary_markdown(results: Sequence[EditVerification], profile: str) -> str:
    """The report's Markdown: each edit's outcome, its numbers, and its contact sheet (a relative link)."""
    icons = {"passed": "✅", "failed": "❌", "unpublished": "➖", "removed": "➖"}
    lines = [f"## feat-space edits verify ({profile} profile)", ""]
    if not results:
        lines.append("No edits to verify.")
    for r in results:
        lines.append(f"### {icons[r.status]} `{r.name}`: {r.status}")
        lines.append("")
        if r.repo:
            lines.append(f"Checkpoint: `{r.repo}` at `{r.revision}`" + (f", sha256 `{r.sha256}`" if r.sha256 else ""))
        if r.passed:
            lines.append("Passed: " + ", ".join(r.passed) + ".")
        if r.status == "unpublished":
            lines.append("No checkpoint yet (`status: unpublished`): only the YAML was checked.")
        if r.problem:
            lines += ["", "```", r.problem, "```"]
        if r.numbers:
            lines += ["", numbers_table(r.numbers)]
        if r.sheet:
            lines += ["", f"![{r.name}]({r.sheet})"]
        lines.append("")
    return "\n".join(lines)


def write_report(results: Sequence[EditVerification], out: Path, profile: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    data = {"profile": profile, "edits": [r.__dict__ | {"ok": r.ok} for r in results]}
    (out / REPORT_JSON).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    (out / REPORT_MD).write_text(summary_markdown(results, profile), encoding="utf-8")
    return out / REPORT_MD


__all__ = [
    "REPORT_JSON",
    "REPORT_MD",
    "EditVerification",
    "VerifyError",
    "changed_edits",
    "check_recipe",
    "download_checkpoint",
    "entry_paths",
    "expected_sha256",
    "recipe_problems",
    "summary_markdown",
    "verify_edit",
    "write_report",
]
