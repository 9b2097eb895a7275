"""`train`: an edit from a registry YAML (its recipe and settings) or from a prompt and a region preset.

feat-space train edits/smile.yaml
feat-space train --prompt "a face with freckles" --region skin --name freckles --steps 500
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .base import SubParsers, profile_of

TRAINED_DIR = Path("trained")  # default output: trained/<name>/ (git-ignored)


def register(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    from ..editing.recipe import REGION_PRESETS

    p = subparsers.add_parser("train", parents=[common], help="train an edit from a registry YAML or a prompt")
    p.add_argument("yaml", nargs="?", help="an edit YAML (its prompt, recipe and training settings)")
    p.add_argument("--prompt", help="train a new edit for this text instead of a YAML")
    p.add_argument("--region", choices=sorted(REGION_PRESETS), default="mouth", help="preset for --prompt")
    p.add_argument("--name", help="name of a --prompt edit (default: from the prompt)")
    p.add_argument("--steps", type=int, help="override the number of steps")
    p.add_argument("--output", type=Path, help=f"checkpoint folder (default: {TRAINED_DIR}/<name>)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in the output folder")
    p.add_argument("--every", type=int, default=10, help="print progress every N steps")
    p.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    from ..registry.drafts import entry_from_prompt, write_draft
    from ..registry.registry import RegistryError, load_registry
    from ..session import Session
    from ..training.trainer import Trainer, TrainingFailed

    if bool(args.yaml) == bool(args.prompt):
        print("Give either an edit YAML or --prompt (not both).", file=sys.stderr)
        return 2
    if args.yaml:
        try:
            entry = next(iter(load_registry([args.yaml]).values()))
        except RegistryError as e:
            print(e, file=sys.stderr)
            return 1
    else:
        entry = entry_from_prompt(args.prompt, args.region, name=args.name, where="feat-space (command line)")
    if args.steps:
        entry = entry.model_copy(update={"training": entry.training.model_copy(update={"steps": args.steps})})
    settings = entry.training
    output = args.output or TRAINED_DIR / entry.name
    session = Session(profile_of(args))
    if session.notice:
        print(session.notice)
    G = session.generator
    config = entry.recipe.config_for(G, entry.prompt, strength=entry.defaults.strength)
    trainer = Trainer(G, session.clip, session.arcface, config, settings, output_dir=output, resume=args.resume)
    output.mkdir(parents=True, exist_ok=True)
    write_draft(output, entry)
    print(f"Training “{entry.prompt}” for {settings.steps} steps into {output}/ (Ctrl-C stops and keeps it)")
    warned = None
    try:
        for progress in trainer.run():
            health = progress.health
            if health is not None and health.warning and health.status != warned:
                print(f"warning at step {progress.step}: {health.warning}", file=sys.stderr, flush=True)
            warned = health.status if health is not None and health.warning else None
            if progress.step % args.every == 0 or progress.done:
                losses = "  ".join(f"{k} {v:.4f}" for k, v in progress.losses.items())
                mask = f"  | mask {health.mask_mean:.3f} ({health.status})" if health is not None else ""
                print(f"step {progress.step}/{progress.total}  {losses}{mask}", flush=True)
    except KeyboardInterrupt:
        print(f"\nStopped at step {trainer.step}; resume with --resume.")
    except TrainingFailed as e:
        print(f"{e}\nThe checkpoint in {output}/ is kept for a look, marked as failed; it cannot be published.")
        return 1
    if trainer.health is not None and not trainer.health.ok:
        print(f"The edit is not usable yet: {trainer.health.warning}", file=sys.stderr)
        return 1
    print(f"Saved {output}/. Publish: python -m feat_space publish {output} --repo <you>/feat-{entry.name}")
    return 0
