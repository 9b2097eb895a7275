"""The package's declarations agree with the pinned, tested set and with where the code looks."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement

import feat_space
from feat_space.checks import edit_sheet
from feat_space.registry import registry

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(feat_space.__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def pinned() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            req = Requirement(line)
            (spec,) = req.specifier if "==" in line else [None]
            pins[req.name.lower()] = spec.version if spec else None
    return pins


def test_every_dependency_is_pinned_within_its_range():
    pins = pinned()
    for line in PROJECT["project"]["dependencies"]:
        req = Requirement(line)
        assert req.name.lower() in pins, f"{req.name} is declared but not in requirements.txt"
        version = pins[req.name.lower()]
        if version is not None:
            assert req.specifier.contains(version, prereleases=True), f"{req.name}=={version} is outside {req}"


def test_console_script_and_version_have_one_home():
    assert PROJECT["project"]["scripts"]["feat-space"] == "feat_space.cli:main"
    assert "version" in PROJECT["project"]["dynamic"]  # read from feat_space.__version__


def test_the_wheel_ships_the_registry_where_the_code_looks_for_it():
    mapping = PROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert mapping == {"edits": "feat_space/edits", "tests/data": "feat_space/sample_photos"}
    packaged = Path(registry.__file__).resolve().parents[1] / "edits"
    assert packaged.relative_to(ROOT).as_posix() == mapping["edits"]
    assert not packaged.exists()  # git holds one copy: the top-level edits/


def test_the_wheel_ships_the_sample_photos_where_the_code_looks_for_them():
    mapping = PROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    packaged = Path(edit_sheet.__file__).resolve().parents[1] / "sample_photos"
    assert packaged.relative_to(ROOT).as_posix() == mapping["tests/data"]
    assert not packaged.exists()  # git holds one copy: tests/data
    assert edit_sheet.sample_photos_dir() == ROOT / "tests" / "data"  # a checkout uses its own
