"""`feat-space env`: every FEAT_* environment variable, its value now and what it does (`feat_space.env`)."""

from __future__ import annotations

import argparse

from .base import SubParsers


def register(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "env", parents=[common], help="the FEAT_* environment variables: their values now and what they do"
    )
    p.set_defaults(handler=_env)


def _env(args: argparse.Namespace) -> int:
    from .. import env

    print(env.describe())
    return 0
