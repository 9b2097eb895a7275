"""The registry of command families, the parser built from it, and `main`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from ..alignment.native_logs import quiet_native_logs
from ..errors import FeatError
from ..weights.profiles import PROFILE_ENV
from . import doctor, edit, edits, environment, evaluate, models, publish, train
from .base import INTERRUPTED, CommandFamily, common_parser

COMMANDS: list[CommandFamily] = [models, doctor, edits, edit, train, publish, evaluate, environment]


def build_parser() -> argparse.ArgumentParser:
    common = common_parser()
    parser = argparse.ArgumentParser(
        prog="feat-space",
        description="feat-space command line (also `python -m feat_space`): model files, edits, editing photos, "
        "training, publishing, evaluation.",
        parents=[common],
    )
    subparsers = parser.add_subparsers(dest="command", metavar="command", required=True)
    for family in COMMANDS:
        family.register(subparsers, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "profile", None):
        os.environ[PROFILE_ENV] = args.profile  # the flag wins over the environment, for everything below
    verbose = getattr(args, "verbose", False)
    # A person sees the project's own lines; the libraries' logs (MediaPipe's from C++) only when asked.
    quiet_native_logs(not verbose)
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        return args.handler(args)
    except FeatError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # e.g. while the models load; a training run says more itself
        print("\nStopped (Ctrl-C).", file=sys.stderr)
        return INTERRUPTED


__all__ = ["COMMANDS", "build_parser", "main"]
