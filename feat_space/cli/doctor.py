"""`doctor`: check the profile's models, their balance in training and the GPU in one run, with a report.

feat-space doctor [--out DIR]          # everything; report.md + contact-sheet.png in DIR (doctor-report/)
feat-space doctor --quick              # model files, layouts and CUDA ops only (what a training job runs first)
FEAT_PROFILE=tiny feat-space doctor    # offline, with the tiny random models
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..checks.doctor import PROBE_STEPS
from .base import SubParsers, profile_of


def register(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "doctor",
        parents=[common],
        help="check the models (files, pins, layouts, reconstruction), edits, training balance and CUDA",
        description="Download or find every model of the profile, check sha256 pins and checkpoint layouts, "
        "load the models, reconstruct the sample photos, run the shipped edits, probe the training balance "
        "and, on CUDA, check the kernels. Writes report.md and contact-sheet.png; exits 1 if anything is wrong.",
    )
    p.add_argument("--out", type=Path, default=Path("doctor-report"), help="report folder (default: doctor-report/)")
    p.add_argument("--quick", action="store_true", help="model files, layouts and CUDA ops only (no loading)")
    p.add_argument(
        "--allow-unpinned", action="store_true", help="report unpinned model files without failing (training jobs)"
    )
    p.add_argument(
        "--probe-steps",
        type=int,
        default=PROBE_STEPS,
        help=f"steps of the training balance probe (default {PROBE_STEPS}; 0 skips it: minutes on a CPU, real models)",
    )
    p.add_argument("--photos", type=Path, nargs="+", help="photos to reconstruct and edit (default: the samples)")
    p.set_defaults(handler=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    from ..checks.doctor import REPORT_NAME, run_doctor

    report = run_doctor(
        profile_of(args),
        out=args.out,
        quick=args.quick,
        photos=args.photos,
        probe_steps=args.probe_steps,
        unpinned_ok=args.allow_unpinned,
        echo=lambda line: print(line, flush=True),
    )
    print(f"\n{report.summary()}\nReport: {args.out / REPORT_NAME}", file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1


__all__ = ["register"]
