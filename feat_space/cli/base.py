"""What every command shares: the `--profile` option and reading it back."""

from __future__ import annotations

import argparse
from typing import Any, Protocol

from ..weights.profiles import PROFILE_ENV, PROFILES, Profile, get_profile

INTERRUPTED = 130  # the exit code after Ctrl-C, as a shell gives it

# argparse's sub-parser action is private in typeshed; this is the one thing commands do with it.
SubParsers = Any


class CommandFamily(Protocol):
    """A module of commands: `register` adds its parsers (with `common` as a parent) to `subparsers`."""

    def register(self, subparsers: SubParsers, common: argparse.ArgumentParser) -> None: ...


def common_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: `--profile` may come before or after the command without the later default erasing it.
    common.add_argument(
        "--profile",
        choices=PROFILES,
        default=argparse.SUPPRESS,
        help=f"model profile (default: ${PROFILE_ENV}, else real); tiny = untrained random models, offline",
    )
    common.add_argument(
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="also show the libraries' own logs (MediaPipe's C++ warnings, the models' loading)",
    )
    return common


def profile_of(args: argparse.Namespace) -> Profile:
    """The profile the command line asked for (`--profile`), else the environment's."""
    return get_profile(getattr(args, "profile", None))


__all__ = ["INTERRUPTED", "CommandFamily", "SubParsers", "common_parser", "profile_of"]
