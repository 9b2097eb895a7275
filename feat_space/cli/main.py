"""The registry of command families, the parser built from it, and `main`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

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
    try:
        return args.handler(args)
    except FeatError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # e.g. while the models load; a training run says more itself
        print("\nStopped (Ctrl-C).", file=sys.stderr)
        return INTERRUPTED


__all__ = ["COMMANDS", "build_parser", "main"]
