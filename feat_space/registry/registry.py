"""The edit registry: every `edits/*.yaml`, validated together, problems reported all at once.

Where the registry folder is (`edits_dir`): `FEAT_EDITS_DIR` if set; else, in a source checkout, the
top-level `edits/` beside `feat_space/` (the folder pull requests change); else the copy an installed
package ships as `feat_space/edits/` (the wheel's build copies `edits/` there; git holds one copy).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from pydantic import ValidationError

from .. import env
from ..errors import FeatError
from .schema import EditEntry, Published

if TYPE_CHECKING:
    from ..editing.edit import FeatEdit

EDITS_ENV = env.EDITS_DIR.name
_PACKAGE = Path(__file__).resolve().parents[1]  # feat_space/


def edits_dir() -> Path:
    """The registry folder: $FEAT_EDITS_DIR, else a source checkout's edits/, else the installed copy."""
    configured = env.EDITS_DIR.get()
    if configured:
        return Path(configured).expanduser()
    checkout = _PACKAGE.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "edits").is_dir():
        return checkout / "edits"
    return _PACKAGE / "edits"


class RegistryError(FeatError):
    """One or more edit files are invalid; `problems` lists each as 'file: field: message'."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(
            f"{len(problems)} problem(s) in the edit registry:\n" + "\n".join(f"  - {p}" for p in problems)
        )


def dump_entry(data: Mapping[str, object]) -> str:
    """An entry's fields as registry YAML: field order kept, text as written (no escapes)."""
    return yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True)


def yaml_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files given directly, plus every *.yaml / *.yml inside given folders (sorted)."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted([*p.glob("*.yaml"), *p.glob("*.yml")]))
        else:
            files.append(p)
    return files


def _field(loc: tuple) -> str:
    return ".".join(str(part) for part in loc if not (isinstance(part, str) and part in ("published", "unpublished")))


def parse_entry(path: Path) -> tuple[EditEntry | None, list[str]]:
    """One file → (entry or None, its problems)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, [f"{path}: file not found"]
    except (OSError, UnicodeDecodeError) as e:
        return None, [f"{path}: cannot read ({e})"]
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        return None, [f"{path}: not valid YAML{where}: {getattr(e, 'problem', e)}"]
    if not isinstance(data, dict):
        return None, [f"{path}: expected a mapping of fields, got {type(data).__name__}"]
    problems = []
    try:
        entry = EditEntry.model_validate(data)
    except ValidationError as e:
        entry = None
        for err in e.errors():
            field = _field(err["loc"]) or "(top level)"
            message = "unknown field (misspelt?)" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{path}: {field}: {message}")
    name = data.get("name")
    if isinstance(name, str) and name != path.stem:
        problems.append(f"{path}: name: '{name}' must equal the file name '{path.stem}'")
    return (entry if not problems else None), problems


def load_registry(paths: Iterable[str | os.PathLike] | None = None) -> dict[str, EditEntry]:
    """All edits by name; raises RegistryError listing every problem in every file."""
    files = yaml_files([edits_dir()] if paths is None else paths)
    entries: dict[str, EditEntry] = {}
    first_seen: dict[str, Path] = {}
    problems: list[str] = []
    for path in files:
        entry, found = parse_entry(path)
        problems.extend(found)
        if entry is None:
            continue
        if entry.name in first_seen:
            problems.append(f"{path}: name: '{entry.name}' is already used by {first_seen[entry.name]}")
            continue
        first_seen[entry.name] = path
        entries[entry.name] = entry
    if problems:
        raise RegistryError(problems)
    return entries


def load_published_edit(entry: EditEntry) -> FeatEdit:
    """The trained edit of a published entry, from the Hub at its pinned commit (cached locally)."""
    from ..editing.storage import load_edit  # torch and the Hub: only when an edit is loaded

    checkpoint = entry.checkpoint
    if not isinstance(checkpoint, Published):
        raise FeatError(f"{entry.name} has no published checkpoint yet: train it (python -m feat_space train).")
    return load_edit(checkpoint.repo, checkpoint.revision)


def check(paths: Iterable[str | os.PathLike] | None = None) -> tuple[int, str]:
    """(exit code, report) for `python -m feat_space edits check`."""
    folders = [edits_dir()] if paths is None else list(paths)
    files = yaml_files(folders)
    if not files:
        where = ", ".join(map(str, folders))
        return 1, f"no edit files found in {where} (expected <name>.yaml files; see {EDITS_ENV})"
    try:
        entries = load_registry(files)
    except RegistryError as e:
        return 1, str(e)
    published = sum(e.published for e in entries.values())
    return 0, f"{len(entries)} edit(s) OK ({published} published, {len(entries) - published} awaiting training)"
