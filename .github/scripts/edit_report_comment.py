"""The pull-request comment of "Verify edits", built from its artifact by "Comment on edits".

The artifact was written by a pull request's code, so everything in it is untrusted data: this script
(standard library only, from the default branch) reads the JSON and PNG files, keeps only what has the
expected shape, and writes its own Markdown. Nothing from the artifact is executed or passed to a shell.

    edit_report_comment.py pr-number REPORT_DIR
        prints the pull request's number (digits only), else exits 1
    edit_report_comment.py comment REPORT_DIR OUT_DIR PREFIX RAW_BASE RUN_URL
        copies each edit's contact sheet (a real PNG, named <edit>.png) to OUT_DIR/PREFIX/ and prints
        the comment, whose pictures link to RAW_BASE/PREFIX/<edit>.png
"""

from __future__ import annotations

import json
import math
import re
import shutil
import sys
from pathlib import Path

NAME = re.compile(r"[a-z0-9_-]{1,64}")
PREFIX = re.compile(r"pr-[0-9]{1,9}/[0-9]{1,20}")
STATUSES = {"passed": "✅", "failed": "❌", "unpublished": "➖", "removed": "➖"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_JSON, MAX_PNG, MAX_TEXT, MAX_EDITS = 1 << 20, 8 << 20, 1500, 20


def pr_number(report: Path) -> str:
    text = (report / "pr-number").read_text(encoding="ascii", errors="replace").strip()
    if not re.fullmatch(r"[0-9]{1,9}", text):
        raise ValueError("pr-number is not a pull request number")
    return text


def plain(value: object, limit: int = MAX_TEXT) -> str:
    """Text safe inside a fenced block: no backticks, printable, bounded."""
    text = "".join(c for c in str(value) if c.isprintable() or c == "\n").replace("`", "'")
    return text[:limit] + (" …" if len(text) > limit else "")


def number(value: object, form: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "?"
    return format(value, form)


def rows(numbers: object) -> list[str]:
    """The measurement's table, from `EditMeasurement.numbers()`'s shape; unexpected shapes are skipped."""
    if not isinstance(numbers, dict) or not isinstance(numbers.get("photos"), list):
        return []
    out = [
        "| photo | strength | mask share | change in / out | identity | s |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for photo in numbers["photos"][:10]:
        if not isinstance(photo, dict) or not isinstance(photo.get("strengths"), list):
            continue
        name = re.sub(r"[^A-Za-z0-9._ -]", "_", str(photo.get("photo")))[:60]
        share = photo.get("mask_share")
        for s in photo["strengths"][:10]:
            if not isinstance(s, dict):
                continue
            out.append(
                f"| {name} | {number(s.get('strength'), 'g')} | {number(share, '.1%')} | "
                f"{number(s.get('change_inside'), '.1f')} / {number(s.get('change_outside'), '.2f')} | "
                f"{number(s.get('identity'), '.3f')} | {number(s.get('seconds'), '.1f')} |"
            )
    return out if len(out) > 2 else []


def copy_sheet(report: Path, name: str, target: Path) -> bool:
    """Copy `<name>.png` if it is a regular file, a PNG, and not too large."""
    source = report / f"{name}.png"
    if source.is_symlink() or not source.is_file() or source.stat().st_size > MAX_PNG:
        return False
    with source.open("rb") as f:
        if f.read(len(PNG_MAGIC)) != PNG_MAGIC:
            return False
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target / f"{name}.png")
    return True


def comment(report: Path, out: Path, prefix: str, raw_base: str, run_url: str) -> str:
    if not PREFIX.fullmatch(prefix):
        raise ValueError("the prefix must be pr-<number>/<run id>")
    lines = ["## Edit verification", ""]
    path = report / "report.json"
    data = None
    if path.is_file() and not path.is_symlink() and path.stat().st_size <= MAX_JSON:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            data = None
    edits = data.get("edits") if isinstance(data, dict) else None
    if not isinstance(edits, list):
        lines.append(f"The verification wrote no readable report: see [the run's log]({run_url}).")
        return "\n".join(lines) + "\n"
    profile = data.get("profile") if data.get("profile") in ("real", "tiny") else "?"
    lines += [f"`feat-space edits verify --changed` with the {profile} models. [Run log and artifact]({run_url}).", ""]
    if not edits:
        lines.append("No edit YAML changed.")
    for edit in edits[:MAX_EDITS]:
        if not isinstance(edit, dict):
            continue
        name = edit.get("name") if isinstance(edit.get("name"), str) and NAME.fullmatch(edit["name"]) else None
        status = edit.get("status") if edit.get("status") in STATUSES else "failed"
        lines.append(f"### {STATUSES[status]} `{name or 'an edit with an invalid name'}`: {status}")
        lines.append("")
        if edit.get("problem"):
            lines += ["```text", plain(edit["problem"]), "```", ""]
        table = rows(edit.get("numbers"))
        if table:
            lines += [*table, ""]
        if name and status == "passed" and copy_sheet(report, name, out / prefix):
            lines += [f"![{name}: photo, strengths 0.5 / 1 / 1.5, mask]({raw_base}/{prefix}/{name}.png)", ""]
    lines.append(
        "Reviewers: the edit should change its region clearly (change inside ≫ outside), keep the person "
        "(identity near 1 at strength 1) and look right on both photos; see CONTRIBUTING.md."
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    try:
        if len(argv) == 2 and argv[0] == "pr-number":
            print(pr_number(Path(argv[1])))
        elif len(argv) == 6 and argv[0] == "comment":
            report, out, prefix, raw_base, run_url = argv[1:]
            print(comment(Path(report), Path(out), prefix, raw_base, run_url), end="")
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
