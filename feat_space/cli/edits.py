"""The edit registry: `edits check [PATH ...]` lints edit YAMLs, `edits list` lists the registry."""

from __future__ import annotations

import argparse
import sys

from .base import SubParsers


def register(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("edits", parents=[common], help="the edit registry (edits/*.yaml)")
    sub = p.add_subparsers(dest="edits_command", metavar="action", required=True)
    check = sub.add_parser("check", help="validate edit YAMLs; non-zero exit on any problem")
    check.add_argument("paths", nargs="*", help="files or folders (default: edits/)")
    check.set_defaults(handler=_edits_check)
    listing = sub.add_parser("list", help="list the registry's edits")
    listing.set_defaults(handler=_edits_list)


def _edits_check(args: argparse.Namespace) -> int:
    from ..registry.registry import check

    code, report = check(args.paths or None)
    print(report, file=sys.stderr if code else sys.stdout)
    return code


def _edits_list(args: argparse.Namespace) -> int:
    from ..registry.registry import load_registry

    for entry in load_registry().values():
        where = f"{entry.checkpoint.repo}@{entry.checkpoint.revision[:12]}" if entry.published else "not trained yet"
        print(f"{entry.name:16} {entry.title:16} {entry.region:12} {where}")
    return 0
