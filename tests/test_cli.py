"""The command line's layout: one module per command family, all of them in the registry, and the
commands the project promises (`python -m feat_space …` and the `feat-space` script share them)."""

from __future__ import annotations

import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import feat_space.cli
from feat_space.cli import COMMANDS, build_parser, main
from feat_space.registry.registry import load_registry

SUPPORT = {"base", "main", "edit_clips"}  # plumbing, and the edit command's clip half: not command families


def test_every_command_module_is_registered():
    modules = {m.name for m in pkgutil.iter_modules(feat_space.cli.__path__)} - SUPPORT
    assert modules == {family.__name__.rsplit(".", 1)[-1] for family in COMMANDS}


def test_the_promised_commands_exist(capsys):
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["no-such-command"])
    offered = capsys.readouterr().err.split("choose from", 1)[1]
    expected = {"models", "download", "pin", "doctor", "edits", "edit", "train", "publish", "evaluate", "env"}
    assert set(re.findall(r"[a-z]+", offered)) == expected
    args = parser.parse_args(["--profile", "tiny", "edits", "list"])
    assert args.profile == "tiny" and callable(args.handler)


def test_edits_list_works_from_any_folder(tmp_path):
    # The registry is found from the package, not from the working directory.
    env = {**os.environ, "PYTHONPATH": str(Path(feat_space.__file__).parents[1])}
    done = subprocess.run(
        [sys.executable, "-m", "feat_space", "edits", "list"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    listed = {line.split()[0] for line in done.stdout.splitlines() if line.strip()}
    assert listed == set(load_registry())


def test_edits_list_fails_loudly_on_an_empty_registry(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FEAT_EDITS_DIR", str(tmp_path))
    assert main(["edits", "list"]) == 1
    assert f"No edits found in {tmp_path}" in capsys.readouterr().err
