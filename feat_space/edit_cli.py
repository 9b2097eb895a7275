"""Command-line commands for edits: `edits check|list`, `train`, `publish`, `evaluate`.

python -m feat_space edits check [PATH ...]            # lint edit YAMLs (default: edits/)
python -m feat_space train edits/smile.yaml            # train a registry edit (its recipe + settings)
python -m feat_space train --prompt "a face with freckles" --region skin --name freckles
python -m feat_space publish trained/smile --repo you/feat-smile   # upload + pin edits/smile.yaml
python -m feat_space evaluate smile --samples 16       # paper-style table (registry name or folder)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .errors import FeatError
from .profiles import get_profile

TRAINED_DIR = Path("trained")


# -- edits ------------------------------------------------------------------------------------------


def register_edits(subparsers, common) -> None:
    p = subparsers.add_parser("edits", parents=[common], help="the edit registry (edits/*.yaml)")
    sub = p.add_subparsers(dest="edits_command", metavar="action", required=True)
    check = sub.add_parser("check", help="validate edit YAMLs; non-zero exit on any problem")
    check.add_argument("paths", nargs="*", help="files or folders (default: edits/)")
    check.set_defaults(handler=_edits_check)
    listing = sub.add_parser("list", help="list the registry's edits")
    listing.set_defaults(handler=_edits_list)


def _edits_check(args: argparse.Namespace) -> int:
    from .registry.registry import check

    code, report = check(args.paths or None)
    print(report, file=sys.stderr if code else sys.stdout)
    return code


def _edits_list(args: argparse.Namespace) -> int:
    from .registry.registry import load_registry

    for entry in load_registry().values():
        where = f"{entry.checkpoint.repo}@{entry.checkpoint.revision[:12]}" if entry.published else "not trained yet"
        print(f"{entry.name:16} {entry.title:16} {entry.region:12} {where}")
    return 0


# -- train ------------------------------------------------------------------------------------------


def register_train(subparsers, common) -> None:
    from .editing.recipe import REGION_PRESETS

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
    from .registry.drafts import entry_from_prompt, write_draft
    from .registry.registry import RegistryError, load_registry
    from .session import Session
    from .training.trainer import Trainer

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
    session = Session(get_profile(getattr(args, "profile", None)))
    if session.notice:
        print(session.notice)
    G = session.generator
    config = entry.recipe.config_for(G, entry.prompt, strength=entry.defaults.strength)
    trainer = Trainer(G, session.clip, session.arcface, config, settings, output_dir=output, resume=args.resume)
    output.mkdir(parents=True, exist_ok=True)
    write_draft(output, entry)
    print(f"Training “{entry.prompt}” for {settings.steps} steps into {output}/ (Ctrl-C stops and keeps it)")
    try:
        for progress in trainer.run():
            if progress.step % args.every == 0 or progress.done:
                losses = "  ".join(f"{k} {v:.4f}" for k, v in progress.losses.items())
                print(f"step {progress.step}/{progress.total}  {losses}", flush=True)
    except KeyboardInterrupt:
        print(f"\nStopped at step {trainer.step}; resume with --resume.")
    print(f"Saved {output}/. Publish: python -m feat_space publish {output} --repo <you>/feat-{entry.name}")
    return 0


# -- publish ----------------------------------------------------------------------------------------


def register_publish(subparsers, common) -> None:
    p = subparsers.add_parser("publish", parents=[common], help="upload a trained edit and pin it in edits/")
    p.add_argument("folder", type=Path, help="a trained edit folder (from `train`)")
    p.add_argument("--repo", required=True, help="Hub model repo to upload to, 'owner/name'")
    p.add_argument("--token", default=os.environ.get("HF_TOKEN"), help="your Hub token (default: HF_TOKEN)")
    p.add_argument("--yaml", type=Path, help="registry file to write (default: edits/<name>.yaml)")
    p.add_argument("--private", action="store_true", help="create the repo private")
    p.set_defaults(handler=_publish)


def _publish(args: argparse.Namespace) -> int:
    from .publishing import pin_in_registry, publish_edit
    from .registry.drafts import read_draft
    from .registry.registry import EDITS_DIR

    draft = read_draft(args.folder)
    name = (draft or {}).get("name") or args.folder.name
    published = publish_edit(args.folder, args.repo, args.token, name=name, private=args.private)
    print(f"Uploaded to {published.url} (commit {published.revision})")
    yaml_path = args.yaml or EDITS_DIR / f"{name}.yaml"
    # An existing entry only gets its checkpoint pinned; a new one is made from the training draft.
    pin_in_registry(yaml_path, published, defaults=draft)
    print(f"Pinned {yaml_path} to {published.repo_id}@{published.revision}: open a pull request with it.")
    return 0


# -- evaluate ---------------------------------------------------------------------------------------


def register_evaluate(subparsers, common) -> None:
    p = subparsers.add_parser("evaluate", parents=[common], help="CLIP gain, identity and locality of an edit")
    p.add_argument("edit", help="a registry edit name (published) or a trained edit folder")
    p.add_argument("--samples", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--strength", type=float, default=None)
    p.add_argument("--threshold", type=float, help="mask threshold (default: the edit's own, else 0.2)")
    p.set_defaults(handler=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    from .editing.storage import load_edit, load_edit_folder
    from .evaluation import evaluate_edit
    from .registry.drafts import read_draft
    from .registry.registry import load_registry
    from .session import Session

    threshold = 0.2
    if Path(args.edit).is_dir():
        edit = load_edit_folder(args.edit)
        draft = read_draft(args.edit) or {}
        threshold = (draft.get("defaults") or {}).get("mask_threshold", threshold)
    else:
        entries = load_registry()
        if args.edit not in entries:
            raise FeatError(f"No edit named {args.edit!r}; known: {', '.join(entries)} (or pass a trained folder).")
        entry = entries[args.edit]
        if not entry.published:
            raise FeatError(f"{args.edit} has no published checkpoint yet: train it (python -m feat_space train).")
        edit = load_edit(entry.checkpoint.repo, entry.checkpoint.revision)
        threshold = entry.defaults.mask_threshold
    session = Session(get_profile(getattr(args, "profile", None)))
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


EDIT_COMMANDS = [register_edits, register_train, register_publish, register_evaluate]
