"""Model files: `models download` (fetch and verify, or build the tiny ones) and `models pin` (maintainers).

feat-space models download                 # pre-fetch every model of the profile (Spaces preload)
feat-space --profile tiny models download  # build the tiny profile's random models instead
feat-space models pin [--verify]           # resolve commits + sha256, write them into the pins file (needs the Hub)

`download` and `pin` also work without the `models` prefix (their first names, kept for scripts).
"""

from __future__ import annotations

import argparse
import sys
import warnings

from ..errors import FeatError
from .base import SubParsers, profile_of


def register(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    group = subparsers.add_parser("models", parents=[common], help="model files: download, pin")
    actions = group.add_subparsers(dest="models_command", metavar="action", required=True)
    for subs in (actions, subparsers):  # `models download` and the short `download`: one definition
        _register_download(subs, common)
        _register_pin(subs, common)


# -- download ---------------------------------------------------------------------------------------


def _register_download(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
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
    from ..weights import SOURCES, UnpinnedSourceWarning, fetch, sources

    profile = profile_of(args)
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


def _register_pin(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "pin",
        parents=[common],
        help="resolve commit + sha256 of the model sources (needs the Hub) and write them into the pins file",
        description="Resolve each source's commit and sha256 on the Hub and write them into the pins file "
        "(feat_space/weights/pins.json, or FEAT_PINS_FILE), so the next download and doctor verify them.",
    )
    p.add_argument("names", nargs="*", help="only these sources; default: all")
    p.add_argument("--revision", default=None, help="resolve this branch/tag/commit instead of each source's own")
    p.add_argument("--verify", action="store_true", help="download and hash each file (needed for non-LFS files)")
    p.add_argument("--print", dest="dry_run", action="store_true", help="print the pins, write nothing")
    p.add_argument("--token", default=None, help="Hub token (default: HF_TOKEN or `hf auth login`)")
    p.set_defaults(handler=_pin)


def _pin(args: argparse.Namespace) -> int:
    from ..weights import SOURCES
    from ..weights.pins import resolve_pin, write_pins

    names = args.names or list(SOURCES)
    unknown = [name for name in names if name not in SOURCES]
    if unknown:
        print(f"Unknown source(s): {', '.join(unknown)}. Known: {', '.join(SOURCES)}", file=sys.stderr)
        return 2
    failures, resolved = 0, []
    for name in names:
        try:
            pin = resolve_pin(SOURCES[name], revision=args.revision, verify=args.verify, token=args.token)
        except FeatError as e:
            failures += 1
            print(f"FAILED {name}: {e}", file=sys.stderr)
            continue
        resolved.append(pin)
        status = "changes the entry" if pin.differs() else "matches the entry"
        print(f"{pin.entry()}\n# ({status})\n")
        if pin.sha256 is None:
            failures += 1
            print(
                f"NOT PINNED {name}: the Hub gave no sha256; run again with --verify to hash the file.", file=sys.stderr
            )
    if resolved and not args.dry_run:
        path = write_pins(resolved)
        print(f"Wrote {sum(p.sha256 is not None for p in resolved)} pin(s) into {path}.")
    return 1 if failures else 0
