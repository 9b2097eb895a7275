"""The edit registry: `edits check [PATH ...]` lints edit YAMLs, `edits list` lists the registry."""

from __future__ import annotations

import argparse
import sys

from .base import SubParsers


def register(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "edits", parents=[common], help="the edit registry (edits/*.yaml; another folder: FEAT_EDITS_DIR)"
    )
    sub = p.add_subparsers(dest="edits_command", metavar="action", required=True)
    check = sub.add_parser("check", help="validate edit YAMLs; non-zero exit on any problem")
    check.add_argument("paths", nargs="*", help="files or folders (default: the registry folder, edits/)")
    check.set_defaults(handler=_edits_check)
    listing = sub.add_parser("list", help="list the registry's edits")
    listing.set_defaults(handler=_edits_list)


def _edits_check(args: argparse.Namespace) -> int:
    from ..registry.registry import check

    code, report = check(args.paths or None)
    print(report, file=sys.stderr if code else sys.stdout)
    return code


def _edits_list(args: argparse.Namespace) -> int:
    from ..registry.registry import EDITS_ENV, edits_dir, load_registry
    from ..registry.schema import Published

    entries = load_registry()
    if not entries:  # an empty list would look like success: say where nothing was found
        print(f"No edits found in {edits_dir()} (set {EDITS_ENV} to another registry folder).", file=sys.stderr)
        return 1
    for entry in entries.values():
        checkpoint = entry.checkpoint
        where = (
            f"{checkpoint.repo}@{checkpoint.revision[:12]}" if isinstance(checkpoint, Published) else "not trained yet"
        )
        print(f"{entry.name:16} {entry.title:16} {entry.region:12} {where}")
    return 0
