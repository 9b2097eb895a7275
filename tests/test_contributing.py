"""CONTRIBUTING.md, the pull-request template and the About tab's "how to contribute" say the same."""

from __future__ import annotations

import re
from pathlib import Path

from feat_space.cli.main import build_parser
from feat_space.ui.about_tab import CONTRIBUTE

ROOT = Path(__file__).resolve().parents[1]
GUIDE = (ROOT / "CONTRIBUTING.md").read_text()


def commands(text: str) -> set[str]:
    """The `feat-space …` commands a text names: the command, and the action of `edits`."""
    found = set()
    for words in (c.split() for c in re.findall(r"`feat-space ([^`]+)`", text)):
        found.add(" ".join(words[:2] if words[0] == "edits" else words[:1]))
    return found


def test_the_about_tab_has_the_guides_steps_in_order():
    guide_steps = re.findall(r"^## \d\. (.+)$", GUIDE, re.M)
    tab_steps = re.findall(r"^\d\. \*\*(.+?)\*\*", CONTRIBUTE, re.M)
    assert len(guide_steps) == 5 and tab_steps == guide_steps
    for section in ("What the checks do", "What reviewers look for"):
        assert f"## {section}" in GUIDE and f"**{section}**" in CONTRIBUTE


def test_the_commands_they_name_exist_and_agree():
    in_tab, in_guide = commands(CONTRIBUTE), commands(GUIDE)
    assert in_tab <= in_guide, in_tab - in_guide
    parser = build_parser()
    assert {"train", "publish", "edits check", "edits verify"} <= in_guide
    for command in in_guide:
        try:
            parser.parse_args([*command.split(), "--help"])
        except SystemExit as e:  # --help exits 0; an unknown command exits 2
            assert e.code == 0, command


def test_the_readme_and_the_template_point_to_the_guide():
    assert "[CONTRIBUTING.md](CONTRIBUTING.md)" in (ROOT / "README.md").read_text()
    template = (ROOT / ".github" / "pull_request_template.md").read_text()
    assert "CONTRIBUTING.md" in template and "feat-space edits verify" in template
