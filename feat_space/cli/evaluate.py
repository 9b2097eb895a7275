"""`evaluate`: the paper-style table of one edit (CLIP gain, identity, change outside the mask)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import FeatError
from .base import SubParsers, profile_of


def register(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("evaluate", parents=[common], help="CLIP gain, identity and locality of an edit")
    p.add_argument("edit", help="a registry edit name (published) or a trained edit folder")
    p.add_argument("--samples", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--strength", type=float, default=None)
    p.add_argument("--threshold", type=float, help="mask threshold (default: the edit's own, else the usual default)")
    p.set_defaults(handler=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    from ..editing.evaluation import evaluate_edit
    from ..editing.ranges import STRENGTH, THRESHOLD
    from ..editing.storage import load_edit_folder
    from ..registry.drafts import read_draft
    from ..registry.registry import load_published_edit, load_registry
    from ..session import Session

    if args.strength is not None:
        STRENGTH.check(args.strength, "--strength")
    if args.threshold is not None:
        THRESHOLD.check(args.threshold, "--threshold")
    threshold = THRESHOLD.default
    if Path(args.edit).is_dir():
        edit = load_edit_folder(args.edit)
        draft = read_draft(args.edit) or {}
        threshold = (draft.get("defaults") or {}).get("mask_threshold", threshold)
    else:
        entries = load_registry()
        if args.edit not in entries:
            raise FeatError(f"No edit named {args.edit!r}; known: {', '.join(entries)} (or pass a trained folder).")
        entry = entries[args.edit]
        edit = load_published_edit(entry)
        threshold = entry.defaults.mask_threshold
    session = Session(profile_of(args))
    if session.notice:
        print(session.notice)
    report = evaluate_edit(
        session.generator,
        edit.to(session.device),
        session.clip,
        session.arcface,
        samples=args.samples,
        seed=args.seed,
        strength=args.strength,
        threshold=threshold if args.threshold is None else args.threshold,
    )
    print(report.table())
    return 0
