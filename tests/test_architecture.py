"""The architecture as written down: imports only point down the layers of docs/architecture.md, the
page names every package and only paths that exist, and the public names import from where the
README and the project's checks import them."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import feat_space

ROOT = Path(feat_space.__file__).resolve().parents[1]
PACKAGE = ROOT / "feat_space"
DOC = (ROOT / "docs" / "architecture.md").read_text()

# Top to bottom: a module may import from its own package and from packages in later rows only.
LAYERS = [
    {"__main__"},
    {"ui", "cli"},
    {"jobs", "hosting"},
    {"checks"},
    {"video"},
    {"session", "registry"},
    {"training"},
    {"editing", "alignment"},
    {"weights"},
    {"models", "guidance", "image_input"},
    {"ops"},
    {"env"},
    {"errors"},
]
RANK = {name: i for i, row in enumerate(LAYERS) for name in row}


def room(module: str) -> str:
    """feat_space.<room>[.…] → <room>."""
    return module.split(".")[1]


def imports(path: Path) -> set[str]:
    """Every feat_space module `path` imports, at the top or inside functions."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    package = parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
                found.update([target] if node.module else [f"{target}.{a.name}" for a in node.names])
            elif node.module:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.startswith("feat_space.")}


def test_imports_point_down_the_layers():
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        if path.parent == PACKAGE and path.name == "__init__.py":
            continue  # the top-level package only re-exports, lazily
        here = room(".".join(path.relative_to(ROOT).with_suffix("").parts))
        assert here in RANK, f"{path}: the package {here!r} has no layer; add it to the table (and the page)"
        for target in imports(path):
            there = room(target)
            if there != here and RANK[there] <= RANK[here]:
                wrong.append(f"{path.relative_to(ROOT)} imports {target}")
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def resolves(dotted: str) -> bool:
    """Whether `dotted` is a module, or a module's attribute path (module.Class.method)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 1, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            if not hasattr(owner, name):
                return False
            owner = getattr(owner, name)
        return True
    return False


def test_the_page_names_every_room_and_only_real_paths():
    for name in RANK:
        if name != "__main__":
            assert f"`{name}/`" in DOC or f"`{name}.py`" in DOC, f"docs/architecture.md does not mention {name}"
    rooms = "|".join(name for name in RANK if name != "__main__")
    for dotted in re.findall(rf"`((?:{rooms})\.[\w.]+)`", DOC):
        if dotted.endswith((".json", ".py")):
            continue  # a file name, not a module
        assert resolves(f"feat_space.{dotted}"), f"docs/architecture.md names feat_space.{dotted}"


def test_top_level_exports():
    assert sorted(feat_space.__all__) == sorted(feat_space._EXPORTS)
    for name in feat_space.__all__:
        assert getattr(feat_space, name) is getattr(importlib.import_module(feat_space._EXPORTS[name]), name)
    with pytest.raises(AttributeError):
        feat_space.no_such_name  # noqa: B018


def test_the_project_checks_import_paths_keep_working():
    # ../shared/DESIGN.md, "Public API": these paths are called from outside this repository.
    from feat_space.alignment import align_face  # noqa: F401
    from feat_space.editing.edit import EditConfig, FeatEdit  # noqa: F401
    from feat_space.editing.recipe import REGION_PRESETS  # noqa: F401
    from feat_space.errors import FeatError, NoFaceError  # noqa: F401
    from feat_space.models import load_arcface, load_encoder, load_generator  # noqa: F401
    from feat_space.session import Session  # noqa: F401
    from feat_space.session.photo_edit import edit_photo  # noqa: F401
    from feat_space.training.settings import TrainingSettings  # noqa: F401
    from feat_space.training.trainer import Trainer  # noqa: F401


def test_the_readmes_imports_work():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    lines = [
        line for block in blocks for line in block.splitlines() if re.match(r"from feat_space[\w.]* import ", line)
    ]
    assert lines
    for line in lines:
        exec(line.split("#", 1)[0], {})
