"""`python -m feat_space <command>`: model downloads and pins now; edits, training, publishing and
evaluation register their commands here as they arrive.

    python -m feat_space download                 # pre-fetch every model of the profile (Spaces preload)
    python -m feat_space --profile tiny download  # build the tiny profile's random models instead
    python -m feat_space pin [--verify]           # resolve commits + sha256 for sources.py (needs the Hub)

A command is a function `register(subparsers)` in `COMMANDS` that adds its parser and sets
`handler=<function(args) -> exit code>`.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable, Sequence

from .edit_cli import EDIT_COMMANDS
from .errors import FeatError
from .profiles import PROFILE_ENV, PROFILES, get_profile


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: `--profile` may come before or after the command without the later default erasing it.
    common.add_argument(
        "--profile",
        choices=PROFILES,
        default=argparse.SUPPRESS,
        help=f"model profile (default: ${PROFILE_ENV}, else real); tiny = untrained random models, offline",
    )
    return common


# -- download ---------------------------------------------------------------------------------------


def _register_download(subparsers, common) -> None:
    p = subparsers.add_parser(
        "download",
        parents=[common],
        help="fetch (or, for tiny, build) every model the profile needs, e.g. at a Space's build time",
        description="Download the profile's model files into the Hugging Face cache (HF_HOME), verifying "
        "their sha256. Honours HF_HOME, HF_ENDPOINT, HF_HUB_OFFLINE and HF_TOKEN.",
    )
    p.add_argument("names", nargs="*", help="only these sources (see --list); default: all the profile needs")
    p.add_argument("--list", action="store_true", help="list the sources and their pins, download nothing")
    p.add_argument("--force", action="store_true", help="download again even if cached (replaces damaged files)")
    p.add_argument("--token", default=None, help="Hub token (default: HF_TOKEN or `hf auth login`)")
    p.set_defaults(handler=_download)


def _download(args: argparse.Namespace) -> int:
    from .hub import SOURCES, UnpinnedSourceWarning, fetch, sources

    profile = get_profile(getattr(args, "profile", None))
    if args.list:
        for source in SOURCES.values():
            state = "pinned" if source.pinned else "UNPINNED"
            print(f"{source.name:24} {state:9} {source.label}  sha256={source.sha256}")
        return 0
    if profile.name == "tiny":
        print(profile.notice)
        for path in profile.prefetch():
            print(f"ok   {path}")
        return 0

    chosen = sources.required_sources()
    if args.names:
        unknown = [name for name in args.names if name not in SOURCES]
        if unknown:
            print(f"Unknown source(s): {', '.join(unknown)}. Known: {', '.join(SOURCES)}", file=sys.stderr)
            return 2
        chosen = [SOURCES[name] for name in args.names]
    failures = 0
    for source in chosen:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UnpinnedSourceWarning)
            try:
                path = fetch(source, token=args.token, force=args.force)
            except FeatError as e:
                failures += 1
                print(f"FAILED {source.name}: {e}", file=sys.stderr)
                continue
        print(f"ok   {source.name:24} {source.label} -> {path}")
        for warning in caught:
            if issubclass(warning.category, UnpinnedSourceWarning):
                print(f"\n!!! WARNING: {warning.message}\n", flush=True)
            else:
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    if failures:
        print(f"{failures} of {len(chosen)} model files could not be fetched.", file=sys.stderr)
    return 1 if failures else 0


# -- pin --------------------------------------------------------------------------------------------


def _register_pin(subparsers, common) -> None:
    p = subparsers.add_parser(
        "pin",
        parents=[common],
        help="resolve commit + sha256 of the model sources (needs the Hub) and print them for sources.py",
    )
    p.add_argument("names", nargs="*", help="only these sources; default: all")
    p.add_argument("--revision", default=None, help="resolve this branch/tag/commit instead of each source's own")
    p.add_argument("--verify", action="store_true", help="download and hash each file (needed for non-LFS files)")
    p.add_argument("--token", default=None, help="Hub token (default: HF_TOKEN or `hf auth login`)")
    p.set_defaults(handler=_pin)


def _pin(args: argparse.Namespace) -> int:
    from .hub import SOURCES
    from .hub.pins import resolve_pin

    names = args.names or list(SOURCES)
    failures = 0
    for name in names:
        if name not in SOURCES:
            print(f"Unknown source {name!r}. Known: {', '.join(SOURCES)}", file=sys.stderr)
            return 2
        try:
            pin = resolve_pin(SOURCES[name], revision=args.revision, verify=args.verify, token=args.token)
        except FeatError as e:
            failures += 1
            print(f"FAILED {name}: {e}", file=sys.stderr)
            continue
        status = "changes the entry" if pin.differs() else "matches the entry"
        print(f"{pin.entry()}\n# ({status})\n")
    return 1 if failures else 0


COMMANDS: list[Callable] = [_register_download, _register_pin, *EDIT_COMMANDS]


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="python -m feat_space", description="feat-space command line: model files, and more.", parents=[common]
    )
    subparsers = parser.add_subparsers(dest="command", metavar="command", required=True)
    for register in COMMANDS:
        register(subparsers, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "profile", None):
        os.environ[PROFILE_ENV] = args.profile  # the flag wins over the environment, for everything below
    try:
        return args.handler(args)
    except FeatError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


__all__ = ["COMMANDS", "build_parser", "main"]
