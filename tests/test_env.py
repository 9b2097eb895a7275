"""Every FEAT_* environment variable the package reads is documented once, in `feat_space.env`, and
`feat-space env` prints each with its value now and its meaning (a secret only as set)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import feat_space
from feat_space import env
from feat_space.cli import main
from feat_space.errors import FeatError

PACKAGE = Path(feat_space.__file__).parent


def test_every_variable_the_package_names_is_in_the_settings():
    named = set()
    for path in PACKAGE.rglob("*.py"):
        named |= set(re.findall(r"\bFEAT_[A-Z_]+[A-Z]\b", path.read_text()))
    assert named == {s.name for s in env.SETTINGS}
    assert len(env.SETTINGS) == len({s.name for s in env.SETTINGS}) == 16
    assert all(s.meaning for s in env.SETTINGS)


def test_feat_space_env_prints_each_value_and_meaning(monkeypatch, capsys):
    for s in env.SETTINGS:
        monkeypatch.delenv(s.name, raising=False)
    monkeypatch.setenv("FEAT_PROFILE", "tiny")
    monkeypatch.setenv("FEAT_STORAGE_SECRET", "do-not-print-me")
    assert main(["env"]) == 0
    out = capsys.readouterr().out
    for s in env.SETTINGS:
        assert f"{s.name}=" in out and s.meaning in out
    assert "FEAT_PROFILE='tiny'" in out and "FEAT_PRECISION=unset (default: auto)" in out
    assert "do-not-print-me" not in out and "FEAT_STORAGE_SECRET=set (not shown)" in out


def test_a_number_setting_says_what_is_wrong(monkeypatch):
    monkeypatch.setenv("FEAT_QUEUE_SIZE", "many")
    with pytest.raises(FeatError, match="FEAT_QUEUE_SIZE must be a whole number, got 'many'"):
        env.QUEUE_SIZE.integer()
    monkeypatch.delenv("FEAT_QUEUE_SIZE")
    assert env.QUEUE_SIZE.integer() == 16
    monkeypatch.delenv("FEAT_MAX_TRAIN_STEPS", raising=False)
    assert env.MAX_TRAIN_STEPS.integer(2000) == 2000
