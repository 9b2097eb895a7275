"""Does training learn a *local*, *bounded* edit on guides it was never tuned to? A sweep against
synthetic guides with a known region (feat_space.training.synthetic).

Each run trains one edit with the project's default `TrainingSettings` (only steps and seed changed),
guided by a synthetic guide instead of CLIP, and is measured on held-out latents: mask mean against
the region's share, IoU with the region against the supervised ceiling (the attention network
trained on the region itself), pixel change inside vs outside the region, mean |change| inside, the
guide's gain, and whether the trainer accepted the run (its verdict).

The default suite crosses what real guides and real parts do to a recipe, case by case:
- guide families: per-pixel colour targets ("pixel"); a saturating function of the region's mean
  shift ("saturating": a softened hinge, "saturating-tanh"), met at a shift of 0.5, as CLIP's
  similarity is once a prompt holds; a local guide plus a pull on the whole image ("global");
- regions that are not a linear read of the attention's own input features ("two-sided", "product");
- region shares of 1.5 %, 20 % and 40 % (small parts with the small-part presets);
- the tiny widths and config-f widths (512 channels at 16²-64², narrow above: `--suite config-f`);
- guide scales 0.1, 1 and 10;
- no-op cases that must be refused (an identity weight that holds the edit back); `--suite unbounded`:
  guides that are never met (linear in the pixels), whose edits must be refused too;
- `--suite other-guides`: kinds the recipe was never tuned on, for other seeds (`--seeds 2 3 4 5`):
  CLIP's own saturation ("saturating-cosine", 1 − cos), a guide met at 0.25, a 0.5 % part, a small
  part read from 32², two-sided regions for a feature blend.

    python benchmarks/training_oracle.py --jobs 2 --steps 300 --seeds 0 1 --json out.json
    python benchmarks/training_oracle.py --suite config-f --steps 150      # the config-f-width rows only

Runs are independent processes (`--jobs`), one torch thread each. Pass criteria printed at the end
(issue 21): none collapsed (mask mean < a quarter of the region's share) or global (> 0.85), none
runaway (mean |change| inside > 1.0), no no-op accepted, mean IoU >= 0.6 of the mean supervised
ceiling, change inside >= 3x outside in every accepted row.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feat_space.training.verdict import MIN_JUDGED_STEPS

CONFIG_F_CHANNELS = {4: 512, 8: 512, 16: 512, 32: 512, 64: 512, 128: 32}  # 128² generator, narrow above 64²
RUNAWAY = 1.0
GLOBAL = 0.85


def case(name: str, preset: str, family: str = "pixel", **kw) -> dict:
    return {
        "case": name,
        "preset": preset,
        "family": family,
        "effect": kw.pop("effect", None),
        "area": kw.pop("area", 0.2),
        "region_layer": kw.pop("region_layer", 6),
        "region_kind": kw.pop("region_kind", "linear"),
        "widths": kw.pop("widths", "tiny"),
        "scales": kw.pop("scales", [1.0]),
        "overrides": kw.pop("overrides", {}),
        "expect_refused": kw.pop("expect_refused", False),
        **kw,
    }


SUITES: dict[str, list[dict]] = {
    "default": [
        case("pixel 20%", "face features", scales=[0.1, 10.0]),
        case("pixel 20%", "hair"),
        case("pixel 20%", "colour"),
        case("saturating 20%", "face features", "saturating", scales=[0.1, 1.0, 10.0]),
        case("saturating 20%", "hair", "saturating"),
        case("saturating 20%", "colour", "saturating"),
        case("saturating-tanh 20%", "colour", "saturating-tanh"),
        case("global + local 20%", "face features", "global"),
        case("global + local 20%", "colour", "global"),
        case("two-sided 20%", "colour", "saturating", region_kind="two-sided"),
        case("product 20%", "face features", "saturating", region_kind="product", region_layer=4),
        case("small 1.5%", "small colour", "saturating", area=0.015, region_layer=8),
        case("small 1.5%", "face features", "saturating", area=0.015, region_layer=8),
        case("small 1.5% pixel", "small colour", area=0.015, region_layer=8),
        case("large 40%", "colour", "saturating", area=0.4),
        case("large 40%", "hair", "saturating", area=0.4),
        case("no-op: id_weight 1000", "colour", "saturating", overrides={"id_weight": 1000.0}, expect_refused=True),
        case("no-op: id_weight 10", "face features", overrides={"id_weight": 10.0}, expect_refused=True),
    ],
    # A guide that is never met (linear in the pixels, as no real one is): the edit has no point to stop
    # at, and must be refused rather than published.
    "unbounded": [
        case("unbounded 20%", "face features", "unbounded", expect_refused=True),
        case("unbounded 20%", "colour", "unbounded", expect_refused=True),
    ],
    # Guide kinds the recipe was never tuned on (run them on other seeds too): CLIP's own saturation (1 − cos,
    # whose pull fades but never stops), a guide met at half the usual shift, an eyes-sized 0.5 % part, a small
    # part read from the 32² features, a two-sided region for a feature blend.
    "other-guides": [
        case("cosine 20%", "colour", "saturating-cosine"),
        case("cosine 20%", "face features", "saturating-cosine"),
        case("met at 0.25, 20%", "colour", "saturating", met=0.25),
        case("cosine 1.5%", "small colour", "saturating-cosine", area=0.015, region_layer=8),
        case("eyes 0.5%", "face features", "saturating-cosine", area=0.005, region_layer=8),
        case("small 1.5% from 32²", "small colour", "saturating", area=0.015, region_layer=6),
        case("two-sided 20%", "face features", "saturating-cosine", region_kind="two-sided"),
    ],
    "config-f": [
        case("config-f widths 20%", "hair", "saturating", widths="config-f"),
        case("config-f widths 1.5%", "small colour", "saturating", widths="config-f", area=0.015, region_layer=8),
    ],
}


def pick(suite: list[dict], name: str, preset: str, **changes) -> dict:
    """A suite's case by name and preset, with `changes`."""
    return {**next(c for c in suite if c["case"] == name and c["preset"] == preset), **changes}


# What this 2-core machine, shared by seven, could run on the final code (docs/training.md's table),
# beside the default suite's "saturating 20%" rows (seed 0).
SUITES["shared-machine"] = [
    pick(SUITES["default"], "pixel 20%", "face features", scales=[0.1]),
    pick(SUITES["default"], "pixel 20%", "colour", scales=[10.0]),
    *(
        pick(SUITES["default"], name, preset)
        for name, preset in (
            ("saturating-tanh 20%", "colour"),
            ("global + local 20%", "face features"),
            ("two-sided 20%", "colour"),
            ("product 20%", "face features"),
            ("small 1.5%", "small colour"),
            ("small 1.5%", "face features"),
            ("large 40%", "hair"),
            ("no-op: id_weight 1000", "colour"),
        )
    ),
]
SHIFT_EFFECTS = ("redder", "bluer", "brighter", "darker")
PIXEL_EFFECTS = ("brighter", "redder", "bluer", "darker")
UNBOUNDED_EFFECTS = ("more red", "lighter")


def config_f_generator():
    """A random generator with config-f widths where the attention reads (512 channels at 16²-64²)."""
    import torch

    from feat_space.models.stylegan2 import Generator

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        G = Generator(128, 512, 2, channels=CONFIG_F_CHANNELS).eval()
        with torch.no_grad():
            G.set_latent_avg(G.mapping(torch.randn(4096, G.style_dim)).mean(0))
    return G


def make_guide(G, job: dict, region):
    from feat_space.training.synthetic import GlobalPull, RegionGuide, SaturatingGuide

    seed = job["seed"]
    family, scale = job["family"], job["scale"]
    if family == "pixel":
        return RegionGuide(G, effect=PIXEL_EFFECTS[seed % 4], scale=scale, offset=3.0, region=region)
    if family.startswith("saturating"):  # "saturating", or "saturating-tanh" / "saturating-cosine"
        saturation = family.partition("-")[2] or "hinge"
        return SaturatingGuide(
            G,
            SHIFT_EFFECTS[seed % 4],
            scale,
            offset=-1.0,
            region=region,
            saturation=saturation,
            met=job.get("met", 0.5),
        )
    if family == "unbounded":  # linear in the pixels, never met: only the other terms bound the edit
        return RegionGuide(G, effect=UNBOUNDED_EFFECTS[seed % 2], scale=scale, offset=3.0, region=region)
    if family == "global":
        local = SaturatingGuide(G, SHIFT_EFFECTS[seed % 4], scale, region=region)
        return GlobalPull(local, effect="brighter" if seed % 2 else "darker", weight=0.3)
    raise ValueError(family)


def build(job: dict):
    """The trainer of one row (`job`), its guide and region, and the held-out latents it is judged on."""
    import torch

    torch.set_num_threads(1)
    from feat_space.editing.recipe import REGION_PRESETS
    from feat_space.session import Session
    from feat_space.training.settings import TrainingSettings
    from feat_space.training.synthetic import FeatureRegion, inversion_like_latents
    from feat_space.training.trainer import Trainer

    session = Session("tiny", device="cpu")
    G = session.generator if job["widths"] == "tiny" else config_f_generator()
    config = REGION_PRESETS[job["preset"]].config_for(G, "a synthetic edit")
    settings = TrainingSettings(steps=job["steps"], seed=job["seed"], **job["overrides"])
    region = FeatureRegion(G, job["region_layer"], job["area"], seed=job["seed"], kind=job["region_kind"])
    guide = make_guide(G, job, region)
    torch.manual_seed(job["seed"])
    trainer = Trainer(G, guide, session.arcface, config, settings, preview_every=10**9)
    guide.bind_to_trainer(trainer)
    # Held out: sampled latents as in training, and W+ whose entries differ, as inverted photos' do.
    held_out = torch.cat(
        [*(trainer.sample_wplus(1_000_000 + k) for k in range(2)), inversion_like_latents(G, 4, seed=10**6)]
    )
    return trainer, guide, region, held_out


def run_one(job: dict) -> dict:
    from feat_space.training.synthetic import measure, supervised_ceiling
    from feat_space.training.trainer import TrainingFailed

    trainer, guide, region, held_out = build(job)
    G, config = trainer.G, trainer.edit.config
    start = time.perf_counter()
    refusal = None
    try:
        for _ in trainer.run():
            pass
    except TrainingFailed as e:
        refusal = str(e)
    seconds = time.perf_counter() - start
    m = measure(trainer, guide, held_out)
    row = {**job, **m.__dict__, "locality": m.locality, "seconds": seconds}
    row["accepted"] = refusal is None
    row["verdict"] = trainer.verdict.status if trainer.verdict is not None else "-"
    row["refusal"] = refusal
    effect = trainer.verdict.effect if trainer.verdict is not None else None
    row["mask_change"] = effect.change_inside if effect else float("nan")  # the verdict's: weighted by its mask
    # The verdict's held-back test: the edit's gain over the best that more of it brings.
    row["reach"] = effect.reach if effect and effect.reach is not None else float("nan")
    # ... and what holds it: the identity term's share of the restraining terms' pull on Δ.
    row["identity_held"] = (effect.restraint or {}).get("id", float("nan")) if effect else float("nan")
    if job.get("ceiling"):
        row["ceiling_iou"] = supervised_ceiling(G, config, region, trainer.sample_wplus, held_out, job["steps"])
    return row


def jobs_of(args) -> list[dict]:
    jobs = []
    for c in SUITES[args.suite]:
        for seed in args.seeds:
            for i, scale in enumerate(args.scales or c["scales"]):
                jobs.append({**c, "seed": seed, "scale": scale, "steps": args.steps, "ceiling": i == 0})
    return jobs


def row_name(job: dict) -> str:
    """What `--only` matches: "case / preset"."""
    return f"{job['case']} / {job['preset']}"


def cell(value: float, width: int, digits: int) -> str:
    """A right-aligned number that keeps its column: a runaway's change can be 10^4, so wide values go to
    a shorter exponent form rather than pushing the row apart."""
    text = f"{value:.{digits}f}"
    for wide in (".2g", ".0e"):  # keep at least one space before the value
        if len(text) >= width:
            text = f"{value:{wide}}"
    return f"{text:>{width}}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", choices=sorted(SUITES), default="default")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    p.add_argument("--scales", nargs="+", type=float, default=None, help="default: each case's own")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument(
        "--only",
        nargs="*",
        default=None,
        help='run only the rows whose "case / preset" contains one of these (e.g. "large 40%%", "/ colour")',
    )
    p.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE", help="override TrainingSettings")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--json", type=Path, help="write every row here")
    args = p.parse_args(argv)
    if args.steps < MIN_JUDGED_STEPS:  # the verdict leaves such runs unjudged: a no-op would read as accepted
        p.error(f"--steps {args.steps}: runs under {MIN_JUDGED_STEPS} steps are not judged by their effect")

    jobs = jobs_of(args)
    for item in args.set:
        field, value = item.split("=", 1)
        for job in jobs:
            job["overrides"] = {**job["overrides"], field: json.loads(value)}
    if args.only:
        names = sorted({row_name(j) for j in jobs})
        jobs = [j for j in jobs if any(o in row_name(j) for o in args.only)]
        if not jobs:  # an empty sweep would "pass" having measured nothing
            print(f"--only {args.only} matches no row of --suite {args.suite}; its rows: {names}", file=sys.stderr)
            return 2
    started = time.perf_counter()
    rows = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for row in pool.map(run_one, jobs):  # in order; each said as it lands (long sweeps are watched)
            rows.append(row)
            print(
                f"[{len(rows)}/{len(jobs)}] {row['case']} / {row['preset']} / seed {row['seed']} / scale "
                f"{row['scale']:g}: mask {row['mask_mean']:.3f}, IoU {row['iou']:.2f}, in {row['change_inside']:.3f}, "
                f"in/out {row['locality']:.1f}, in mask {row['mask_change']:.3f}, reach {row['reach']:.2f}, "
                f"id held {row['identity_held']:.2f}, {row['verdict']}",
                file=sys.stderr,
                flush=True,
            )
    # One ceiling per (case, preset, seed): share it with that case's other scales.
    key = lambda r: (r["case"], r["preset"], r["seed"])  # noqa: E731
    ceilings = {key(r): r["ceiling_iou"] for r in rows if "ceiling_iou" in r}
    header = (
        f"{'case':<24}{'preset':<14}{'seed':>4}{'scale':>6}{'share':>7}{'mask':>7}{'IoU':>6}{'ceil':>6}"
        f"{'in':>7}{'out':>7}{'in/out':>7}{'gain':>8}{'in mask':>8}{'reach':>6}{'id':>5}  {'verdict':<10}{'s':>5}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        r["ceiling_iou"] = ceilings.get(key(r), float("nan"))
        print(
            f"{r['case']:<24}{r['preset']:<14}{r['seed']:>4}{r['scale']:>6g}{r['area']:>7.3f}{r['mask_mean']:>7.3f}"
            f"{r['iou']:>6.2f}{r['ceiling_iou']:>6.2f}"
            f"{cell(r['change_inside'], 7, 3)}{cell(r['change_outside'], 7, 3)}{cell(r['locality'], 7, 1)}"
            f"{cell(r['guidance_gain'], 8, 3)}{cell(r['mask_change'], 8, 3)}{r['reach']:>6.2f}"
            f"{r['identity_held']:>5.2f}  {r['verdict']:<10}{r['seconds']:>5.0f}"
        )
    edits = [r for r in rows if not r["expect_refused"]]
    noops = [r for r in rows if r["expect_refused"]]
    collapsed = [r for r in edits if r["mask_mean"] < r["area"] / 4]
    global_ = [r for r in edits if r["mask_mean"] > GLOBAL]
    runaway = [r for r in edits if r["change_inside"] > RUNAWAY]
    noop_accepted = [r for r in noops if r["accepted"]]
    refused = [r for r in edits if not r["accepted"]]
    mean_iou = statistics.mean(r["iou"] for r in edits) if edits else float("nan")
    mean_ceiling = statistics.mean(r["ceiling_iou"] for r in edits) if edits else float("nan")
    worst_locality = min((r["locality"] for r in edits), default=float("nan"))
    print()
    print(f"runs {len(rows)}, {time.perf_counter() - started:.0f} s wall, {args.steps} steps each")
    print(f"edits collapsed (mask mean < share / 4): {len(collapsed)}   global (> {GLOBAL}): {len(global_)}")
    print(f"edits runaway (mean |change| inside > {RUNAWAY}): {len(runaway)}")
    print(f"runs that must be refused: {len(noops)}; of them accepted: {len(noop_accepted)}")
    if edits:  # the counts above and below judge the edits; a suite of runs to refuse has none
        print(f"edits refused by the trainer: {len(refused)} of {len(edits)}")
        print(f"mean IoU {mean_iou:.3f}, supervised ceiling {mean_ceiling:.3f}: {mean_iou / mean_ceiling:.2f} of it")
        print(f"change inside / outside: worst {worst_locality:.1f}x")
    else:
        print("no edits in this suite: every run in it must be refused")
    ok = (
        not collapsed
        and not global_
        and not runaway
        and not noop_accepted
        and not refused
        and (not edits or (mean_iou >= 0.6 * mean_ceiling and worst_locality >= 3))
    )
    print(
        "PASS" if ok else "FAIL",
        "(criteria: none collapsed, global or runaway; no run that must be refused accepted, every edit accepted; "
        "mean IoU >= 0.6 of the ceiling; every edit in/out >= 3)",
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
