"""Follow one row of the training oracle over its run: every N steps, what the edit does on held-out latents.

The oracle (`training_oracle.py`) judges a run by where it ends; this says how it got there. Per
report: the mask's mean, its mean inside / outside the guide's region and the share of it above 0.5
(a mask that fades in value keeps its mean while that share falls), IoU, the change inside / outside,
the guide's gain, the guide's pull and the change term's gate (recipe item 4), the monitor's correction
of the area term (item 7), the RMS of the mapped offset, and the training losses averaged since the
last report. How the long-run findings in docs/training.md (items 10-11) were found:

    python benchmarks/training_trace.py "global + local 20%" "face features" --seed 1 --steps 2000
    python benchmarks/training_trace.py "large 40%" colour --steps 2000 --every 200 --json trace.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import training_oracle as oracle  # this folder, then (by it) the checkout root, on the path


def main(argv: list[str] | None = None) -> int:
    import torch

    from feat_space.training.synthetic import measure
    from feat_space.training.trainer import TrainingFailed

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("case", help='an oracle case name, e.g. "large 40%%"')
    p.add_argument("preset", help="its preset, e.g. colour")
    p.add_argument("--suite", choices=sorted(oracle.SUITES), default="default")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--every", type=int, default=100, help="report every this many steps")
    p.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE", help="override TrainingSettings")
    p.add_argument("--json", type=Path, help="write every report here")
    args = p.parse_args(argv)

    overrides = {f: json.loads(v) for f, v in (item.split("=", 1) for item in args.set)}
    case = oracle.pick(oracle.SUITES[args.suite], args.case, args.preset)
    job = {**case, "seed": args.seed, "scale": args.scale, "steps": args.steps, "ceiling": False}
    job["overrides"] = {**job["overrides"], **overrides}
    trainer, guide, _, held_out = oracle.build(job)
    mapped = slice(*trainer.edit.config.mapped_layers)
    reports = []
    try:
        for progress in trainer.run():
            if progress.step % args.every and not progress.done:
                continue
            m = measure(trainer, guide, held_out)
            with torch.no_grad():
                trainer.edit.eval()
                _, _, mask, delta = trainer.render(held_out)
                trainer.edit.train()
                previous, guide.latents = guide.latents, lambda: held_out
                region = guide.region_of(mask.shape[-1])
                guide.latents = previous
            recent = trainer.history[-args.every :]
            report = {
                "step": progress.step,
                "mask": m.mask_mean,
                "mask in": mask[region].mean().item(),
                "mask out": mask[~region].mean().item(),
                "above 0.5": (mask > 0.5).float().mean().item(),
                "IoU": m.iou,
                "change in": m.change_inside,
                "change out": m.change_outside,
                "gain": m.guidance_gain,
                "pull": trainer.guide_scale.pull,
                "gate": trainer.change_gate(),
                "area x": trainer.monitor.adapt,
                "offset rms": delta[:, mapped].pow(2).mean().sqrt().item(),
                **{k: sum(h[k] for h in recent) / len(recent) for k in recent[0] if k != "step"},
            }
            reports.append(report)
            line = "  ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in report.items())
            print(line, flush=True)
    except TrainingFailed as e:
        print(e, flush=True)
    if args.json:
        args.json.write_text(json.dumps(reports, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
