"""Time one training step of an edit (batch 2) with config-f-sized models at random init.

Generator 1024² config-f, CLIP ViT-B/32 (open_clip, random weights), IR-SE50 ArcFace: nothing is
downloaded. Each step synthesises only up to the 256² RGB (`TrainingSettings.resolution`), CLIP sees
224², ArcFace 112². For reference the script also times, in the same process, the same step with
synthesis to the full 1024², the cost the resolution cap avoids, and the verdict's measurement that
ends every run, in steps.

    python benchmarks/train_step.py [--region mouth] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import open_clip
import torch
import torch.nn.functional as F

# Run from anywhere, the package uninstalled: the checkout root first on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feat_space.editing.recipe import REGION_PRESETS
from feat_space.guidance.clip import ClipGuide
from feat_space.models import Generator, IRSE50ArcFace
from feat_space.training.settings import TrainingSettings
from feat_space.training.trainer import Trainer


def seconds(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", default="mouth", choices=sorted(REGION_PRESETS))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    torch.manual_seed(0)
    G = Generator(1024).eval()
    with torch.no_grad():  # the truncation centre, as checkpoints store it
        G.set_latent_avg(G.mapping(torch.randn(4096, G.style_dim)).mean(0))
    model = open_clip.create_model("ViT-B-32-quickgelu").eval()
    cfg = open_clip.get_model_preprocess_cfg(model)
    tokenizer = open_clip.get_tokenizer("ViT-B-32-quickgelu")
    guide = ClipGuide(model, tokenizer, mean=cfg["mean"], std=cfg["std"], image_size=224)
    arcface = IRSE50ArcFace().eval()
    config = REGION_PRESETS[args.region].config_for(G, "a face with a big smile")

    print(f"threads: {torch.get_num_threads()}  torch {torch.__version__}  region {args.region}")
    trainers = {
        f"{r}²": Trainer(G, guide, arcface, config, TrainingSettings(batch_size=2, resolution=r)) for r in (256, 1024)
    }
    # What the recipe's gradient normalisations cost (docs/training.md): the default step
    # against the same step without them (the rest, standardised attention inputs and the mask monitor,
    # is small next to synthesis).
    plain = TrainingSettings(batch_size=2, normalize_guidance=False, mask_gradient="raw")
    trainers["256², no normalisation"] = Trainer(G, guide, arcface, config, plain)
    # A run's first `focus_steps` weight the mapper's gradient (`losses.Focus`); the steps timed here are among
    # them, so the same step without it is timed beside them.
    trainers["256², no focus"] = Trainer(G, guide, arcface, config, TrainingSettings(batch_size=2, focus_steps=0))
    # The colour presets' change term also prices what a partly open mask hides (`losses.hidden_strength`; 0
    # elsewhere): `--region colour` times it against the same step without it.
    no_hidden = TrainingSettings(batch_size=2, hidden_weight=0.0)
    trainers["256², no hidden strength"] = Trainer(G, guide, arcface, config, no_hidden)
    for trainer in trainers.values():
        trainer.train_step()  # warm-up
    # Rounds alternate the two setups, so a busy neighbour slows both alike; the ratio is what counts.
    rounds = [{r: seconds(t.train_step) for r, t in trainers.items()} for _ in range(args.repeats)]
    for r in trainers:
        print(f"train step, batch 2, synthesis to {r}: {statistics.median(x[r] for x in rounds):.2f} s (median)")

    def against(base: str) -> list[float]:
        return [x["256²"] / x[base] for x in rounds]

    report("recipe step / step without its normalisations", against("256², no normalisation"), 3)
    report("step in the focus phase / step after it", against("256², no focus"), 3)
    report("step / step without the hidden-strength term", against("256², no hidden strength"), 3)
    # The verdict's measurement at the end of a run (`Trainer.effect`: the edit on held-out latents at
    # its strength and at 1.5-6x), paid once per run: in steps of the same trainer, timed beside them.
    capped = trainers["256²"]
    verdict = [seconds(capped.effect) / seconds(capped.train_step) for _ in range(args.repeats)]
    report("end-of-run verdict / train step", verdict, 1, ", once per run")
    report("full-resolution step / capped step", [x["1024²"] / x["256²"] for x in rounds], 2)
    # The attention reads |x| beside x (editing/attention.py): its forward and backward on one batch's features
    # with both paths, less the same with the mix over x alone (the network before |x|), in steps.
    extra = [
        (seconds(attention_pass(capped)) - seconds(attention_pass(capped, x_only=True))) / seconds(capped.train_step)
        for _ in range(args.repeats)
    ]
    report("the attention's |x| path / train step", extra, 4)


def attention_pass(trainer: Trainer, x_only: bool = False):
    """The attention network's forward and backward on a batch's features: as it is, or mixing x alone."""
    attention, layers = trainer.edit.attention, list(trainer.edit.config.attention_layers)
    with torch.no_grad():
        by_layer = trainer.G.features(trainer.sample_wplus(0), layers)
    features = [by_layer[k] for k in layers]

    def run() -> None:
        if not x_only:
            attention(features).sum().backward()
            return
        x = attention.read(features)
        weight, bias = attention.mix.weight[:, : attention.reduced], attention.mix.bias
        torch.sigmoid(F.conv2d(x, weight, bias)).sum().backward()

    return run


def report(what: str, ratios: list[float], digits: int, after: str = "") -> None:
    """One ratio's line: its median over the rounds, then each round's."""
    rounds = ", ".join(f"{q:.{digits}f}" for q in ratios)
    print(f"{what}: {statistics.median(ratios):.{digits}f}x (per round: {rounds}){after}")


if __name__ == "__main__":
    main()
