"""The edit registry: `edits check [PATH ...]` lints edit YAMLs, `edits list` lists the registry,
`edits verify NAME... | --changed BASE` checks edits end to end (`checks.verify`) and writes a report."""

from __future__ import annotations

import argparse
import sys

from .base import SubParsers, profile_of

DEFAULT_REPORT = "edits-report"


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
    verify = sub.add_parser(
        "verify",
        parents=[common],
        help="check edits end to end: YAML, pinned checkpoint (sha256), recipe, a run on the sample photos",
    )
    verify.add_argument("names", nargs="*", help="registry edit names (or paths to edit YAMLs)")
    verify.add_argument("--changed", metavar="BASE", help="verify the edits/*.yaml that differ from git revision BASE")
    verify.add_argument("--out", default=DEFAULT_REPORT, help=f"report folder (default: {DEFAULT_REPORT}/)")
    verify.add_argument(
        "--photo",
        dest="photos",
        action="append",
        metavar="PATH",
        help="a photo to run on; repeat for more (default: the sample photos, tests/data)",
    )
    verify.set_defaults(handler=_edits_verify)


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


def _edits_verify(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..checks.edit_sheet import sample_photos
    from ..checks.verify import EditVerification, changed_edits, entry_paths, verify_edit, write_report
    from ..errors import FeatError
    from ..session import Session

    if bool(args.names) == bool(args.changed):
        raise FeatError("Name the edits to verify, or pass --changed BASE (e.g. origin/main), not both.")
    removed: list[str] = []
    if args.changed:
        paths, removed = changed_edits(args.changed)
        if not paths and not removed:
            print(f"No edit YAML differs from {args.changed}: nothing to verify.")
    else:
        paths = entry_paths(args.names)
    photos = args.photos or sample_photos()
    profile = profile_of(args)
    sessions: list[Session] = []

    def session() -> Session:  # loaded once, and only when an edit gets that far
        if not sessions:
            sessions.append(Session(profile))
            if sessions[0].notice:
                print(sessions[0].notice)
        return sessions[0]

    out = Path(args.out)
    results = [verify_edit(path, session, out, photos) for path in paths]
    results += [EditVerification(name=name, path=f"{name}.yaml", status="removed") for name in removed]
    report = write_report(results, out, profile.name)
    for r in results:
        line = f"{r.name:16} {r.status.upper()}"
        if r.problem:
            line += f": {r.problem}"
        elif r.status == "unpublished":
            line += ": no checkpoint yet, only the YAML was checked"
        elif r.status == "removed":
            line += ": the YAML was removed, nothing to verify"
        elif r.sheet:
            line += f": contact sheet {out / r.sheet}"
        print(line, file=sys.stdout if r.ok else sys.stderr)
    print(f"Report: {report} (numbers: {out / 'report.json'})")
    failed = [r.name for r in results if not r.ok]
    if failed:
        print(f"error: {len(failed)} edit(s) failed verification: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
