"""GPU readiness check: the CUDA path end to end in one process, then GPU timings.

One prepared script for the few minutes a GPU is lent: every check is named, runs on its own (a
failure is recorded with its error and the rest still run) and lands in a table at the end, and in
JSON with `--out` (rewritten after every check, so a run cut short still leaves its results).

1. environment: torch, CUDA, the device, a matmul rate measured in this process.
2. ops: the CUDA kernels of `feat_space.ops` against their PyTorch paths and their reference
   definitions on the same device — forward, gradients and a second-order gradient, fp32 and fp16,
   NCHW and channels-last (the cases of tests/test_ops.py), and that the public ops dispatch to the
   kernels.
3. paths, with FEAT_DEVICE set to the device: the tiny-profile session, synthesis and e4e inversion
   compared with a CPU session, a photo edit, composed edits, a training step (losses and gradients
   compared with the CPU), a checkpoint round trip (save, load, resume, finish).
4. timings with config-f-sized random models (StyleGAN2 1024², e4e, CLIP ViT-B/32, IR-SE50): 1024²
   synthesis at batch 1 and 8 in fp32 and half precision, e4e at 256², a photo's first edit and
   re-edit, a training step at batch 2 and 8, with peak GPU memory for each.

Correctness checks run with TF32 off (full fp32 convolutions and matmuls); timings with torch's
defaults. The photo edits run in the session's default precision (FEAT_PRECISION, auto: a half
precision on a GPU that passes its self-check). Half-precision synthesis is timed through
`torch.autocast`: weights stay fp32 and autocast runs convolutions and matmuls in float16 on CUDA
(bfloat16 on the CPU). A second, optional probe times the generator with its weights cast by
`.half()` (`.bfloat16()` on the CPU); its failure is reported but does not fail the check.

`--dry-run` runs the same plan on the CPU with small models: the kernels are stood in by their
PyTorch definitions (`extension.substitute`) behind the ops' own autograd functions
(`upfirdn2d_cuda`, `fused_bias_act_cuda`), comparisons are CPU against CPU,
and timings use a narrow 256² generator and the tiny profile's encoders. CI runs it
(tests/test_gpu_check.py) so the script cannot rot.

    python benchmarks/gpu_check.py --out gpu_check.json          # on a CUDA machine, < 8 min
    python benchmarks/gpu_check.py --dry-run --out dry.json      # anywhere, CPU only

Exit status: 0 when no check failed, 1 otherwise, 2 when asked for a GPU run without CUDA.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from benchmarks.random_models import random_encoder  # noqa: E402
from feat_space.checks.cuda_ops import (  # noqa: E402  (the checks the doctor runs too)
    OPS_DTYPES,
    Skipped,
    check_dispatch,
    check_environment,
    check_extension,
    check_fused_bias_act,
    check_upfirdn2d,
    full_fp32,
    torch_ops_path,
)
from feat_space.checks.cuda_ops import short as _short  # noqa: E402
from feat_space.checks.cuda_ops import sync as _sync  # noqa: E402
from feat_space.editing.edit import FeatEdit  # noqa: E402
from feat_space.editing.recipe import REGION_PRESETS  # noqa: E402
from feat_space.editing.storage import load_edit_folder  # noqa: E402
from feat_space.image_input import load_image  # noqa: E402
from feat_space.ops import extension  # noqa: E402
from feat_space.session import Session  # noqa: E402
from feat_space.session.photo_edit import edit_photo  # noqa: E402
from feat_space.training.settings import TrainingSettings  # noqa: E402
from feat_space.training.trainer import Trainer  # noqa: E402

PASS, FAIL, SKIP = "pass", "fail", "skip"
SECTIONS = ("environment", "ops", "paths", "timings")
PHOTO = ROOT / "tests" / "data" / "astronaut.png"
WARMUP_PHOTO = ROOT / "tests" / "data" / "grace_hopper.jpg"
PROMPT = "a face with a big smile"

# ------------------------------------------------------------------------------------------------
# Recording


@dataclass
class Record:
    section: str
    name: str
    status: str
    seconds: float
    detail: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class Setup:
    device: torch.device
    dry_run: bool
    repeats: int
    budget_s: float
    workdir: Path
    out: Path | None

    @property
    def train_resolution(self) -> int:
        """Where training synthesis stops: the default 256² on the GPU, 64² in a dry run (CPU time)."""
        return 64 if self.dry_run else TrainingSettings().resolution

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"


class Runner:
    """Runs named checks, recording each as pass / fail / skip with its error text and metrics."""

    def __init__(self, setup: Setup, meta: dict[str, Any]) -> None:
        self.setup = setup
        self.meta = meta
        self.records: list[Record] = []
        self.started = time.monotonic()
        self.peak_mib = 0.0

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def run(self, section: str, name: str, fn: Callable[[], Any], *, budgeted: bool = False) -> Any:
        """Run `fn`; it returns metrics (a dict), or (metrics, detail), or raises. Returns fn's metrics."""
        if budgeted and self.elapsed() > self.setup.budget_s:
            record = Record(section, name, SKIP, 0.0, f"time budget of {self.setup.budget_s:.0f} s used up")
            return self._add(record)
        start = time.perf_counter()
        metrics: dict[str, Any] = {}
        detail = ""
        try:
            out = fn()
            _sync(self.setup.device)
            if isinstance(out, tuple):
                metrics, detail = out
            elif isinstance(out, dict):
                metrics = out
            status = PASS
        except Skipped as e:
            status, detail = SKIP, str(e)
        except Exception as e:  # any failure is a result; the next check still runs
            status = FAIL
            lines = traceback.format_exc().strip().splitlines()
            detail = f"{type(e).__name__}: {_short(str(e), 600)} | " + " | ".join(lines[-6:-1])
        seconds = time.perf_counter() - start
        if metrics.get("peak_mib") is not None:
            self.peak_mib = max(self.peak_mib, metrics["peak_mib"])
        self._add(Record(section, name, status, seconds, detail, metrics))
        return metrics if status == PASS else None

    def _add(self, record: Record) -> None:
        self.records.append(record)
        line = f"[{record.status:4}] {record.section}: {record.name} ({record.seconds:.1f} s)"
        if record.detail:
            line += f" — {_short(record.detail, 300)}"
        print(line, flush=True)
        if self.setup.out is not None:
            self.write(self.setup.out)

    def report(self) -> dict[str, Any]:
        counts = {s: sum(r.status == s for r in self.records) for s in (PASS, FAIL, SKIP)}
        return {
            "tool": "benchmarks/gpu_check.py",
            "mode": "dry-run" if self.setup.dry_run else "gpu",
            **self.meta,
            "sections": {s: [asdict(r) for r in self.records if r.section == s] for s in SECTIONS},
            "summary": {
                "passed": counts[PASS],
                "failed": counts[FAIL],
                "skipped": counts[SKIP],
                "ok": counts[FAIL] == 0,
                "wall_s": round(self.elapsed(), 2),
                "peak_gpu_mib": round(self.peak_mib, 1) if self.setup.cuda else None,
            },
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.report(), indent=1, default=str))
        tmp.replace(path)

    def table(self) -> str:
        rows = [("section", "check", "status", "s", "result")]
        for r in self.records:
            result = _summarise(r.metrics) if r.status == PASS else ""
            if r.detail:  # a failure's error, a skip's reason, an optional probe's finding
                result = _short(f"{result}; {r.detail}" if result else r.detail, 140)
            rows.append((r.section, r.name, r.status, f"{r.seconds:.1f}", result))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = []
        for i, row in enumerate(rows):
            lines.append("  ".join(cell.ljust(widths[j]) for j, cell in enumerate(row[:4])) + "  " + row[4])
            if i == 0:
                lines.append("-" * (sum(widths) + 8 + 40))
        summary = self.report()["summary"]
        lines.append(
            f"\n{summary['passed']} passed, {summary['failed']} failed, {summary['skipped']} skipped "
            f"in {summary['wall_s']:.1f} s"
            + (f"; peak GPU memory {summary['peak_gpu_mib']:.0f} MiB" if self.setup.cuda else "")
        )
        return "\n".join(lines)


def _summarise(metrics: dict[str, Any]) -> str:
    keys = ("median_s", "per_image_ms", "peak_mib", "max_err", "max_abs_diff", "note")
    parts = []
    for k in keys:
        if k in metrics and metrics[k] is not None:
            v = metrics[k]
            parts.append(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}")
    return _short(", ".join(parts), 110)


@contextlib.contextmanager
def env(name: str, value: str) -> Iterator[None]:
    saved = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved


# ------------------------------------------------------------------------------------------------
# 1. environment and 2. ops: kernels against the PyTorch paths, in feat_space.checks.cuda_ops


# ------------------------------------------------------------------------------------------------
# 3. paths on the device (FEAT_DEVICE), compared with a CPU session


@dataclass
class Paths:
    """State shared by the path checks (each check fills what the next ones read)."""

    session: Session | None = None
    reference: Session | None = None  # the same tiny models on the CPU
    trainer: Trainer | None = None


def visible_edit(G, region: str, seed: int) -> FeatEdit:
    """A random edit that visibly changes the photo (an untrained mapper barely moves W+)."""
    torch.manual_seed(seed)
    edit = FeatEdit(REGION_PRESETS[region].config_for(G, "an edit")).eval()
    with torch.no_grad():
        for mlp in edit.mapper.mlps:
            mlp.layers[-1].weight.mul_(30)
    return edit


def _on(model: torch.nn.Module, device: torch.device) -> bool:
    return all(t.device.type == device.type for t in [*model.parameters(), *model.buffers()])


def _max_rel(a: torch.Tensor, b: torch.Tensor) -> float:
    """Max abs difference relative to the largest |b| (at least 1)."""
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    return (a - b).abs().max().item() / max(1.0, b.abs().max().item())


def check_session(setup: Setup, state: Paths) -> dict[str, Any]:
    with env("FEAT_DEVICE", setup.device.type):
        # The device comes from FEAT_DEVICE, as the app's does; paths are compared in fp32 (the
        # default, FEAT_PRECISION=auto, would pick a half precision on the GPU and maybe the CPU).
        session = Session("tiny", precision="fp32")
    assert session.device.type == setup.device.type, f"FEAT_DEVICE={setup.device.type} gave {session.device}"
    start = time.perf_counter()
    session.load()
    load_s = time.perf_counter() - start
    for name in ("generator", "encoder", "arcface"):
        assert _on(getattr(session, name), setup.device), f"{name} is not (all) on {setup.device}"
    assert _on(session.clip.model, setup.device), "CLIP is not on the device"
    state.session = session
    if setup.cuda:
        state.reference = Session("tiny", device="cpu", precision="fp32")
        state.reference.load()
    else:  # a dry run: the comparisons run against the same CPU session (cached steps are reused)
        state.reference = session
    return {"load_s": round(load_s, 2), "device": str(session.device), "note": f"FEAT_DEVICE={setup.device.type}"}


def check_synthesis_matches(setup: Setup, state: Paths) -> dict[str, Any]:
    session, reference = _sessions(state)
    G = session.generator
    z = torch.randn(2, G.style_dim, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        wplus = reference.generator.to_wplus(reference.generator.mapping(z, psi=0.7))
    image = session.synthesize(wplus.to(setup.device))
    expected = reference.synthesize(wplus)
    assert torch.isfinite(image).all(), "non-finite pixels"
    diff = _max_rel(image, expected)
    metrics = {"max_abs_diff": diff, "kernels_used": setup.cuda and extension.available()}
    assert diff < 2e-3, f"synthesis on {setup.device} differs from the CPU by {diff:.3g} (relative)"
    if setup.cuda:  # the same model on the GPU with the ops' PyTorch path: isolates the kernels
        with torch_ops_path():
            torch_path = session.synthesize(wplus.to(setup.device))
        metrics["kernels_vs_torch_ops"] = _max_rel(image, torch_path)
        assert metrics["kernels_vs_torch_ops"] < 1e-3, "CUDA kernels and PyTorch ops disagree inside synthesis"
    return metrics


def check_inversion_matches(setup: Setup, state: Paths) -> dict[str, Any]:
    session, reference = _sessions(state)
    photo = session.prepare(PHOTO)
    expected = reference.prepare(PHOTO)
    assert photo.wplus.device.type == setup.device.type
    assert np.array_equal(np.asarray(photo.face.image), np.asarray(expected.face.image)), "alignment differs"
    diff = _max_rel(photo.wplus, expected.wplus)
    assert diff < 1e-3, f"e4e inversion on {setup.device} differs from the CPU by {diff:.3g} (relative)"
    return {"max_abs_diff": diff, "wplus": list(photo.wplus.shape)}


def _photo_diff(a, b) -> tuple[float, int]:
    x = np.asarray(a, dtype=np.int16)
    y = np.asarray(b, dtype=np.int16)
    return float(np.abs(x - y).mean()), int(np.abs(x - y).max())


def _edit_and_compare(setup: Setup, state: Paths, regions: list[tuple[str, int]]) -> dict[str, Any]:
    session, reference = _sessions(state)
    edits = [(visible_edit(session.generator, r, s), 1.0) for r, s in regions]
    ref_edits = [(visible_edit(reference.generator, r, s), 1.0) for r, s in regions]
    result = edit_photo(session, PHOTO, edits, threshold=0.2)
    expected = edit_photo(reference, PHOTO, ref_edits, threshold=0.2)
    original = load_image(PHOTO)
    assert result.photo.size == original.size
    changed = np.any(np.asarray(result.photo) != np.asarray(original), axis=-1)
    assert changed.any(), "the edit changed nothing"
    mean, worst = _photo_diff(result.edited, expected.edited)
    photo_mean, _ = _photo_diff(result.photo, expected.photo)
    assert mean < 0.5, f"edited face differs from the CPU's by {mean:.3f} levels on average (max {worst})"
    return {
        "max_abs_diff": worst,
        "mean_abs_diff_levels": round(mean, 4),
        "photo_mean_abs_diff_levels": round(photo_mean, 4),
        "changed_pixels": int(changed.sum()),
        "mask_mean": float(np.asarray(result.mask).mean() / 255),
    }


def check_photo_edit(setup: Setup, state: Paths) -> dict[str, Any]:
    return _edit_and_compare(setup, state, [("mouth", 0)])


def check_composed_edits(setup: Setup, state: Paths) -> dict[str, Any]:
    # A feature-blending edit (layer 8) and a colour edit blending the final RGB, composed.
    return _edit_and_compare(setup, state, [("mouth", 1), ("hair colour", 2)])


def _trainer(setup: Setup, session: Session, output_dir: Path | None, resume: bool = False) -> Trainer:
    torch.manual_seed(0)  # the same initial edit on every device
    G = session.generator
    config = REGION_PRESETS["mouth"].config_for(G, PROMPT)
    settings = TrainingSettings(steps=3, batch_size=2, seed=0, resolution=setup.train_resolution)
    return Trainer(
        G, session.clip, session.arcface, config, settings, output_dir=output_dir, resume=resume, preview_every=2
    )


def _losses_and_grads(trainer: Trainer) -> tuple[dict[str, float], dict[str, torch.Tensor]]:
    trainer.edit.train()
    parts = trainer.losses(trainer.sample_wplus(0))
    trainer.optimizer.zero_grad(set_to_none=True)
    parts["total"].backward()
    grads = {n: p.grad.detach().double().cpu() for n, p in trainer.edit.named_parameters() if p.grad is not None}
    trainer.optimizer.zero_grad(set_to_none=True)
    return {k: float(v.detach()) for k, v in parts.items()}, grads


def check_training_step(setup: Setup, state: Paths) -> dict[str, Any]:
    session, reference = _sessions(state)
    trainer = _trainer(setup, session, setup.workdir / f"train-{setup.device.type}")
    expected = _trainer(setup, reference, None)
    losses, grads = _losses_and_grads(trainer)
    ref_losses, ref_grads = _losses_and_grads(expected)
    for k, v in losses.items():
        assert np.isfinite(v), f"loss {k} is {v}"
        assert abs(v - ref_losses[k]) <= 1e-3 * abs(ref_losses[k]) + 1e-4, f"loss {k}: {v} vs CPU {ref_losses[k]}"
    assert grads.keys() == ref_grads.keys() and grads, "different parameters got gradients"
    num = sum((grads[n] - ref_grads[n]).norm() ** 2 for n in grads) ** 0.5
    den = sum(ref_grads[n].norm() ** 2 for n in grads) ** 0.5
    grad_rel = float(num / max(den, 1e-12))
    assert grad_rel < 1e-2, f"gradients differ from the CPU's by {grad_rel:.3g} (relative norm)"
    before = {n: p.detach().clone() for n, p in trainer.edit.named_parameters()}
    step_losses = trainer.train_step()
    moved = sum(not torch.equal(before[n], p) for n, p in trainer.edit.named_parameters())
    assert moved, "no parameter changed in a training step"
    for p in trainer.edit.parameters():
        assert p.device.type == setup.device.type
    state.trainer = trainer
    return {
        "max_abs_diff": max(abs(v - ref_losses[k]) for k, v in losses.items()),
        "grad_rel_diff": grad_rel,
        "losses": step_losses,
        "parameters_moved": moved,
    }


def check_checkpoint_round_trip(setup: Setup, state: Paths) -> dict[str, Any]:
    session, _ = _sessions(state)
    trainer = state.trainer
    if trainer is None:
        raise RuntimeError("needs the training step check's trainer, which failed")
    folder = trainer.save()
    G = session.generator
    loaded = load_edit_folder(folder).to(setup.device)
    trainer.edit.eval()
    wplus = trainer.sample_wplus(99)
    with torch.no_grad():
        a = trainer.edit(G, wplus)
        b = loaded(G, wplus)
    torch.testing.assert_close(b.image, a.image, rtol=0, atol=1e-5)
    torch.testing.assert_close(b.mask, a.mask, rtol=0, atol=1e-6)
    resumed = _trainer(setup, session, folder, resume=True)
    assert resumed.step == trainer.step, f"resumed at step {resumed.step}, saved at {trainer.step}"
    for values in resumed.optimizer.state.values():
        for v in values.values():
            if isinstance(v, torch.Tensor) and v.dim() > 0:
                assert v.device.type == setup.device.type, f"optimizer state on {v.device}"
    progress = list(resumed.run())
    final = progress[-1]
    assert final.done and final.step == resumed.settings.steps and final.checkpoint is not None
    assert any(p.preview is not None for p in progress), "no preview was made"
    again = load_edit_folder(final.checkpoint).to(setup.device)
    with torch.no_grad():
        out = again(G, wplus)
    assert torch.isfinite(out.image).all()
    return {"steps": final.step, "resumed_from": trainer.step, "folder": str(folder)}


def _sessions(state: Paths) -> tuple[Session, Session]:
    if state.session is None or state.reference is None:
        raise RuntimeError("needs the session check's sessions, which failed")
    return state.session, state.reference


# ------------------------------------------------------------------------------------------------
# 4. timings


@dataclass
class Models:
    G: Any
    E: Any
    arcface: Any
    guide: Any
    label: str


def build_models(setup: Setup) -> Models:
    """Config-f-sized random models on the GPU; in a dry run small ones of the same classes."""
    from feat_space.models import Generator, IRSE50ArcFace

    dev = setup.device
    torch.manual_seed(0)
    if setup.dry_run:
        from feat_space.weights import get_profile
        from feat_space.weights.tiny import GENERATOR_CHANNELS, IRSE_STAGES, MAPPING_LAYERS

        G = Generator(256, n_mlp=MAPPING_LAYERS, channels=GENERATOR_CHANNELS)
        E = random_encoder(G.n_latent, IRSE_STAGES, dev).eval().requires_grad_(False)
        arcface = IRSE50ArcFace(stages=IRSE_STAGES)
        from feat_space.guidance.clip import load_clip

        guide = load_clip(get_profile("tiny").clip_spec(), dev)
        label = "small: StyleGAN2 256² (8-32 channels), tiny e4e / IR-SE / CLIP"
    else:
        import open_clip

        from feat_space.guidance.clip import ClipGuide

        with torch.device(dev):
            G = Generator(1024, channel_multiplier=2)
            arcface = IRSE50ArcFace()
        E = random_encoder(G.n_latent, None, dev).eval().requires_grad_(False)
        model = open_clip.create_model("ViT-B-32-quickgelu", device=dev).eval()
        cfg = open_clip.get_model_preprocess_cfg(model)
        tokenizer = open_clip.get_tokenizer("ViT-B-32-quickgelu")
        guide = ClipGuide(model, tokenizer, mean=cfg["mean"], std=cfg["std"], image_size=224)
        label = "config-f: StyleGAN2 1024² cm2, e4e IR-SE50, IR-SE50 ArcFace, CLIP ViT-B/32 (random weights)"
    G = G.to(dev).eval().requires_grad_(False)
    with torch.no_grad():  # the truncation centre, as checkpoints store it
        G.set_latent_avg(G.mapping(torch.randn(4096, G.style_dim, device=dev)).mean(0))
    arcface = arcface.to(dev).eval().requires_grad_(False)
    return Models(G, E, arcface, guide, label)


def measure(setup: Setup, fn: Callable[[], Any], batch: int = 1, warmup: int = 1) -> tuple[dict[str, Any], Any]:
    """Median and best wall time of `fn` over the repeats (synchronised), the peak GPU memory while
    they ran (resident models included), and fn's last result."""
    for _ in range(warmup):
        fn()
    _sync(setup.device)
    if setup.cuda:
        torch.cuda.reset_peak_memory_stats(setup.device)
    times, out = [], None
    for _ in range(setup.repeats):
        start = time.perf_counter()
        out = fn()
        _sync(setup.device)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    m = {
        "median_s": round(median, 5),
        "best_s": round(min(times), 5),
        "repeats": len(times),
        "per_image_ms": round(1000 * median / batch, 3),
        "peak_mib": round(torch.cuda.max_memory_allocated(setup.device) / 2**20, 1) if setup.cuda else None,
    }
    return m, out


def half_dtype(setup: Setup) -> torch.dtype:
    return torch.float16 if setup.cuda else torch.bfloat16


def autocast(setup: Setup, enabled: bool = True):
    return torch.autocast(setup.device.type, dtype=half_dtype(setup), enabled=enabled)


def _wplus(G, batch: int, seed: int = 0) -> torch.Tensor:
    z = torch.randn(batch, G.style_dim, generator=torch.Generator().manual_seed(seed)).to(G.input.input.device)
    with torch.no_grad():
        return G.to_wplus(G.mapping(z, psi=0.7)).contiguous()


def check_synthesis_time(setup: Setup, models: Models, batch: int, half: bool) -> dict[str, Any]:
    G = models.G
    wplus = _wplus(G, batch)

    def run():
        with torch.no_grad(), autocast(setup, half):
            return G.synthesis(wplus)

    m, image = measure(setup, run, batch)
    assert torch.isfinite(image).all(), "non-finite pixels"
    m["size"] = G.size
    m["precision"] = f"autocast {half_dtype(setup)} (fp32 weights)" if half else "float32"
    if half:
        with torch.no_grad():
            m["max_abs_diff"] = _max_rel(image.float(), G.synthesis(wplus))
    return m


def check_half_weights_probe(setup: Setup, models: Models) -> tuple[dict[str, Any], str]:
    """Optional: the generator with its weights cast to half precision. A failure here is a finding
    about what works, reported in the detail, not a failed check."""
    dtype = half_dtype(setup)
    try:
        G = copy.deepcopy(models.G).to(dtype)
        wplus = _wplus(models.G, 1).to(dtype)

        def run():
            with torch.no_grad():
                return G.synthesis(wplus)

        m, image = measure(setup, run, 1)
        m["finite"] = bool(torch.isfinite(image).all())
        with torch.no_grad():
            m["max_abs_diff"] = _max_rel(image.float(), models.G.synthesis(wplus.float()))
        m["precision"] = f"weights .to({dtype})"
        return m, "" if m["finite"] else "non-finite pixels with half-precision weights"
    except Exception as e:
        return {"precision": f"weights .to({dtype})", "works": False}, (
            f"optional probe: {dtype} weights do not run: {type(e).__name__}: {_short(str(e), 200)}"
        )


def check_e4e_time(setup: Setup, models: Models, batch: int) -> dict[str, Any]:
    x = torch.rand(batch, 3, 256, 256, generator=torch.Generator().manual_seed(1)).mul(2).sub(1).to(setup.device)

    def run():
        with torch.no_grad():
            return models.E(x)

    m, out = measure(setup, run, batch)
    assert out.shape == (batch, models.G.n_latent, 512) and torch.isfinite(out).all()
    return m


class EditTimer:
    """A photo's first edit (align, invert, features, FEAT edit, paste back) and its re-edit (cached)."""

    def __init__(self, setup: Setup, models: Models) -> None:
        G = models.G
        self.session = Session("real", device=setup.device, models={"generator": G, "encoder": models.E})
        config = REGION_PRESETS["mouth"].config_for(G, PROMPT)
        torch.manual_seed(0)
        self.edit = FeatEdit(config).eval().to(setup.device)
        self.setup = setup
        edit_photo(self.session, WARMUP_PHOTO, [(self.edit, 1.0)], threshold=0.2)  # MediaPipe, cuDNN, pages

    def first(self) -> None:
        self.session.photos.clear()
        edit_photo(self.session, PHOTO, [(self.edit, 1.0)], threshold=0.2)

    def again(self) -> None:
        edit_photo(self.session, PHOTO, [(self.edit, 0.5)], threshold=0.2)


def check_first_edit_time(setup: Setup, timer: EditTimer) -> dict[str, Any]:
    m, _ = measure(setup, timer.first, warmup=0)
    # Where the time goes, once: alignment is MediaPipe on the CPU; inversion runs on the device.
    session = timer.session
    photo = load_image(PHOTO)
    start = time.perf_counter()
    face = session.align(photo)
    m["align_s"] = round(time.perf_counter() - start, 4)
    start = time.perf_counter()
    session.invert(face)
    _sync(setup.device)
    m["invert_s"] = round(time.perf_counter() - start, 4)
    m["photo"] = f"{PHOTO.name} {photo.size[0]}x{photo.size[1]}"
    return m


def check_re_edit_time(setup: Setup, timer: EditTimer) -> dict[str, Any]:
    timer.again()  # the photo is in the cache from the first-edit check
    return measure(setup, timer.again, warmup=0)[0]


def check_train_step_time(setup: Setup, models: Models, batch: int) -> dict[str, Any]:
    G = models.G
    config = REGION_PRESETS["mouth"].config_for(G, PROMPT)
    torch.manual_seed(0)
    settings = TrainingSettings(batch_size=batch, seed=0, resolution=setup.train_resolution)
    trainer = Trainer(G, models.guide, models.arcface, config, settings)
    m, _ = measure(setup, trainer.train_step, batch)
    losses = trainer.history[-1]
    assert all(np.isfinite(v) for v in losses.values()), f"non-finite losses {losses}"
    m["resolution"] = trainer.settings.resolution
    return m


# ------------------------------------------------------------------------------------------------
# The plan


def plan(runner: Runner) -> None:
    setup = runner.setup
    run = runner.run
    meta = run("environment", "torch, device, matmul rate", lambda: check_environment(setup.device))
    if meta:
        runner.meta["environment"] = meta

    with full_fp32():
        run("ops", "CUDA extension builds and loads", lambda: check_extension(setup.device))
        for dtype in OPS_DTYPES:
            tag = str(dtype).removeprefix("torch.")
            versus = f"kernel vs PyTorch path and reference, {tag}"
            run("ops", f"upfirdn2d {versus}", lambda d=dtype: check_upfirdn2d(setup.device, d))
            run("ops", f"fused_bias_act {versus}", lambda d=dtype: check_fused_bias_act(setup.device, d))
        run("ops", "public ops dispatch to the kernels (fp16, bf16, mixed)", lambda: check_dispatch(setup.device))

        state = Paths()
        dev = setup.device.type
        run("paths", f"session: tiny profile, FEAT_DEVICE={dev}", lambda: check_session(setup, state))
        run("paths", f"synthesis on {dev} vs CPU", lambda: check_synthesis_matches(setup, state))
        run("paths", f"e4e inversion on {dev} vs CPU", lambda: check_inversion_matches(setup, state))
        run("paths", "photo edit (edit_photo) vs CPU", lambda: check_photo_edit(setup, state))
        run("paths", "composed edits (features + RGB) vs CPU", lambda: check_composed_edits(setup, state))
        run("paths", "training step: losses, gradients vs CPU", lambda: check_training_step(setup, state))
        run("paths", "checkpoint round trip: save, load, resume", lambda: check_checkpoint_round_trip(setup, state))

    built: list[Models] = []
    size = "config-f" if not setup.dry_run else "small"

    def build():
        start = time.perf_counter()
        built.append(build_models(setup))
        return {"build_s": round(time.perf_counter() - start, 1), "note": built[0].label}

    run("timings", f"build {size} random models", build, budgeted=True)
    models = built[0] if built else None

    def with_models(fn):
        def go():
            if models is None:
                raise RuntimeError("the models could not be built (see above)")
            return fn(models)

        return go

    res = "1024²" if not setup.dry_run else "256²"
    half = "fp16" if setup.cuda else "bf16"
    for batch in (1, 8):
        for is_half in (False, True):
            name = f"synthesis {res} batch {batch}, {half + ' autocast' if is_half else 'fp32'}"
            run(
                "timings",
                name,
                with_models(lambda m, b=batch, h=is_half: check_synthesis_time(setup, m, b, h)),
                budgeted=True,
            )
    run("timings", f"synthesis {res} batch 1, {half} weights (optional probe)",
        with_models(lambda m: check_half_weights_probe(setup, m)), budgeted=True)  # fmt: skip
    for batch in (1, 8):
        run("timings", f"e4e 256² batch {batch}", with_models(lambda m, b=batch: check_e4e_time(setup, m, b)),
            budgeted=True)  # fmt: skip

    timers: list[EditTimer] = []

    def first(m):
        timers.append(EditTimer(setup, m))
        return check_first_edit_time(setup, timers[0])

    def again(m):
        if not timers:
            raise RuntimeError("needs the first-edit check's session, which failed")
        return check_re_edit_time(setup, timers[0])

    run("timings", "first edit of a photo (align, invert, FEAT edit, paste back)", with_models(first), budgeted=True)
    run("timings", "re-edit of the same photo (cached)", with_models(again), budgeted=True)
    timers.clear()
    for batch in (2, 8):
        run("timings", f"training step batch {batch}",
            with_models(lambda m, b=batch: check_train_step_time(setup, m, b)), budgeted=True)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="the same plan on the CPU with small models")
    parser.add_argument("--out", type=Path, help="write the results as JSON here (after every check)")
    parser.add_argument("--device", default="cuda", help="the CUDA device to check (default: cuda)")
    parser.add_argument("--repeats", type=int, help="timed runs per timing (default: 5; 1 in a dry run)")
    parser.add_argument(
        "--budget", type=float, help="seconds after which remaining timings are skipped (default 420; 240 dry)"
    )
    args = parser.parse_args(argv)

    if args.dry_run:
        device = torch.device("cpu")
    else:
        if not torch.cuda.is_available():
            print("No CUDA device here: run with --dry-run for the CPU rehearsal.", file=sys.stderr)
            return 2
        device = torch.device(args.device)
        if device.type != "cuda":
            print(f"--device must be a CUDA device, got {device}", file=sys.stderr)
            return 2
        if device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        setup = Setup(
            device=device,
            dry_run=args.dry_run,
            repeats=args.repeats or (1 if args.dry_run else 5),
            budget_s=args.budget or (240.0 if args.dry_run else 420.0),
            workdir=Path(tmp),
            out=args.out,
        )
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        runner = Runner(setup, {"started": started, "command": " ".join(sys.argv)})
        print(f"gpu_check: {'dry run on the CPU' if args.dry_run else f'GPU run on {device}'}", flush=True)
        plan(runner)
        print("\n" + runner.table())
        if args.out:
            runner.write(args.out)
            print(f"results: {args.out}")
        return 0 if runner.report()["summary"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
