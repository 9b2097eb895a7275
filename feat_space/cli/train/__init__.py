"""`train`: an edit from a registry YAML, a prompt, or every unpublished registry edit; here or on
Hugging Face Jobs.

feat-space train edits/smile.yaml
feat-space train --prompt "a face with freckles" --name freckles --steps 500      (preset suggested)
feat-space train edits/smile.yaml --on hf-jobs --flavor a10g-small --publish you/feat-smile
feat-space train --all --on hf-jobs --publish you                                  (you/feat-<name> each)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..base import SubParsers

TRAINED_DIR = Path("trained")  # default output: trained/<name>/ (git-ignored)
WHERE = ("local", "hf-jobs")


def register(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    from ...editing.recipe import PRESETS
    from ...jobs.spec import DEFAULT_FLAVOR, DEFAULT_IMAGE, DEFAULT_TIMEOUT

    p = subparsers.add_parser("train", parents=[common], help="train an edit from a registry YAML or a prompt")
    p.add_argument("yaml", nargs="?", type=Path, help="an edit YAML (its prompt, recipe and training settings)")
    p.add_argument("--prompt", help="train a new edit for this text instead of a YAML")
    p.add_argument("--all", action="store_true", help="train every unpublished edit of the registry")
    p.add_argument(
        "--region",
        type=_preset,
        metavar="PRESET",
        help=f"preset for --prompt: {', '.join(PRESETS)} (default: suggested from the prompt's words)",
    )
    p.add_argument("--name", help="name of a --prompt edit (default: from the prompt)")
    p.add_argument("--steps", type=int, help="override the number of steps")
    p.add_argument("--threshold", type=float, help="mask threshold to record in the YAML (default: the entry's)")
    p.add_argument("--output", type=Path, help=f"checkpoint folder (default: {TRAINED_DIR}/<name>)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in the output folder")
    p.add_argument("--every", type=int, default=10, help="print progress every N steps")
    p.add_argument(
        "--probe",
        type=int,
        nargs="?",
        const=30,
        metavar="STEPS",
        help="instead of training: print each loss term's gradient on the latent offset at step 0 and after "
        "STEPS steps (default 30) of a throwaway edit; nothing is saved",
    )
    p.add_argument("--on", choices=WHERE, default="local", help="where to train (default: local)")
    p.add_argument(
        "--publish",
        metavar="REPO",
        help="upload the trained edit to this Hub repo (owner/name; with --all, an owner: owner/feat-<name>) and "
        "pin its YAML to the upload's commit",
    )
    p.add_argument("--private", action="store_true", help="with --publish: create the repo private")
    p.add_argument("--flavor", default=DEFAULT_FLAVOR, help=f"hf-jobs hardware (default: {DEFAULT_FLAVOR})")
    p.add_argument(
        "--timeout", default=DEFAULT_TIMEOUT, help=f"hf-jobs: stop the job after this (default: {DEFAULT_TIMEOUT})"
    )
    p.add_argument("--image", default=DEFAULT_IMAGE, help="hf-jobs Docker image (PyTorch with CUDA)")
    p.add_argument(
        "--code", help="hf-jobs: the code to run, git+<url>@<commit> (default: $FEAT_JOB_CODE or this checkout)"
    )
    # The job's side of --on hf-jobs: the entry travels in an environment variable, progress as lines.
    p.add_argument("--entry-env", help=argparse.SUPPRESS)
    p.add_argument("--progress-lines", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(handler=_train)


def _preset(name: str) -> str:
    """A preset name (or a region word of earlier versions, which names one)."""
    from ...editing.recipe import PRESETS, REGION_PRESETS

    if name not in REGION_PRESETS:
        raise argparse.ArgumentTypeError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    return name


def _train(args: argparse.Namespace) -> int:
    from ...errors import FeatError
    from .options import Target, TrainOptions

    options = TrainOptions.from_args(args)
    if options.sources != 1:
        print("Give one of: an edit YAML, --prompt, or --all.", file=sys.stderr)
        return 2
    if options.all:
        from .all_edits import train_all

        return train_all(options)
    if options.publish and "/" not in options.publish:
        raise FeatError(f"--publish takes a repo, owner/name (got {options.publish!r}); only --all takes an owner.")
    from .local import entry_of, probe_here, train_here

    entry = entry_of(options)
    if options.probe is not None:
        return probe_here(options, entry)
    if options.on == "hf-jobs":
        from .on_jobs import train_on_jobs

        return train_on_jobs(options, entry)
    # A job uploads only; its client pins the YAML. Here a published edit is pinned in its YAML.
    pin = None if options.entry_env else options.yaml or edits_yaml(entry.name)
    target = Target(entry, options.output or TRAINED_DIR / entry.name, options.publish, pin)
    return train_here(options, target)


def edits_yaml(name: str) -> Path:
    """The registry YAML of the edit `name`."""
    from ...registry.registry import edits_dir

    return edits_dir() / f"{name}.yaml"
