"""FEAT_PRECISION: how the inference precision is chosen, that checkpoints and training stay fp32, and
that a bf16 edit of a photo looks like the fp32 one (the suite's small version of the 40 dB check that
benchmarks/edit_latency.py runs on config-f-sized models)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from benchmarks.random_models import random_encoder
from feat_space.editing.edit import EditConfig, FeatEdit
from feat_space.editing.recipe import REGION_PRESETS
from feat_space.errors import FeatError
from feat_space.models import Generator
from feat_space.session import Session
from feat_space.session import precision as precision_module
from feat_space.session.photo_edit import edit_photo
from feat_space.session.precision import PRECISION_ENV, cpu_has_native_bf16, pick_precision
from feat_space.training.settings import TrainingSettings
from feat_space.training.trainer import Trainer
from feat_space.weights.tiny import IRSE_STAGES

DATA = Path(__file__).parent / "data"
CPU = torch.device("cpu")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR of two 8-bit images, in dB (inf when equal)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def test_the_choice_is_read_checked_and_explained(monkeypatch):
    assert pick_precision("fp32", CPU).dtype == torch.float32
    with pytest.raises(FeatError, match="auto, fp32, bf16, fp16"):
        pick_precision("half", CPU)
    with pytest.raises(FeatError, match="CUDA GPUs only"):
        pick_precision("fp16", CPU)
    forced = pick_precision("bf16", CPU)
    assert forced.dtype == torch.bfloat16 and "self-check passed" in forced.reason
    monkeypatch.setenv(PRECISION_ENV, "BF16")  # read from the environment, case-insensitively
    assert Session("tiny", device="cpu").precision.name == "bf16"
    monkeypatch.setenv(PRECISION_ENV, "fp32")
    assert Session("tiny", device="cpu").dtype == torch.float32
    assert Session("tiny", device="cpu", precision="bf16").dtype == torch.bfloat16  # the argument wins


def test_auto_takes_bf16_only_on_a_cpu_with_native_bf16(monkeypatch):
    monkeypatch.setattr(precision_module, "_picked", {})
    monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: False)
    chosen = pick_precision("auto", CPU)
    assert chosen.name == "fp32" and "no native bf16" in chosen.reason
    monkeypatch.setattr(precision_module, "_picked", {})
    monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: True)
    assert pick_precision("auto", CPU).name == "bf16"
    # ...unless the self-check disagrees: then fp32, and the reason says so
    monkeypatch.setattr(precision_module, "_picked", {})
    monkeypatch.setattr(precision_module, "probe_error", lambda dtype, device: 0.5)
    chosen = pick_precision("auto", CPU)
    assert chosen.name == "fp32" and "self-check failed" in chosen.reason
    with pytest.raises(FeatError, match="self-check failed"):
        pick_precision("bf16", CPU)
    # a self-check that cannot run at all (e.g. a GPU not attached yet) also leaves auto at fp32, saying why
    monkeypatch.setattr(precision_module, "_picked", {})

    def unattached(dtype, device):
        raise RuntimeError("no device")

    monkeypatch.setattr(precision_module, "probe_error", unattached)
    chosen = pick_precision("auto", CPU)
    assert chosen.name == "fp32" and "raised RuntimeError: no device" in chosen.reason


def test_this_machines_auto_choice_follows_its_cpu():
    expected = "bf16" if cpu_has_native_bf16() else "fp32"
    session = Session("tiny", device="cpu", precision="auto")
    assert "not yet checked" in repr(session)
    assert session.precision.name == expected
    assert f"precision={expected}" in repr(session) and session.describe().startswith(f"cpu · {expected} (auto")


def test_checkpoints_stay_fp32_and_the_encoder_returns_fp32(tmp_path):
    from feat_space.weights.profiles import get_profile

    profile = get_profile("tiny", tiny_root=tmp_path)
    full = Session(profile, device="cpu", precision="fp32")
    half = Session(profile, device="cpu", precision="bf16")
    assert all(p.dtype == torch.float32 for p in half.generator.parameters())
    assert all(b.dtype == torch.float32 for b in half.generator.buffers())
    assert next(half.encoder.parameters()).dtype == torch.bfloat16  # its inference copy
    assert half.encoder.latent_avg.dtype == torch.float32
    photo = DATA / "astronaut.png"
    w32, w16 = full.prepare(photo).wplus, half.prepare(photo).wplus
    assert w16.dtype == torch.float32
    relative = ((w16 - w32).norm() / (w32 - full.encoder.latent_avg).norm()).item()
    assert 0 < relative < 0.02


def test_an_encoder_handed_to_a_bf16_session_stays_fp32_for_its_owner():
    n_styles = Session("tiny", device="cpu", precision="fp32").generator.n_latent
    encoder = random_encoder(n_styles=n_styles, stages=IRSE_STAGES)
    half = Session("tiny", device="cpu", precision="bf16", models={"encoder": encoder})
    full = Session("tiny", device="cpu", precision="fp32", models={"encoder": encoder})
    assert next(half.encoder.parameters()).dtype == torch.bfloat16
    assert half.encoder is not encoder, "a bf16 session converts a copy of a model handed in"
    assert next(encoder.parameters()).dtype == torch.float32
    assert next(full.encoder.parameters()).dtype == torch.float32
    # and converting back really gives fp32 (it used to leave a bf16 module as it was)
    assert next(half.encoder.to_precision(torch.float32).parameters()).dtype == torch.float32


def test_training_ignores_the_precision(tmp_path):
    """The Train tab trains on `session.generator`: in a bf16 session it must train exactly as in fp32."""
    from feat_space.weights.profiles import get_profile

    profile = get_profile("tiny", tiny_root=tmp_path)
    results = []
    for precision in ("fp32", "bf16"):
        session = Session(profile, device="cpu", precision=precision)
        session.dtype  # noqa: B018 - resolve the precision first, as the app does at start
        G = session.generator
        torch.manual_seed(0)
        config = REGION_PRESETS["mouth"].config_for(G, "a smile")
        settings = TrainingSettings(steps=2, batch_size=2, seed=0)
        trainer = Trainer(G, session.clip, session.arcface, config, settings)
        list(trainer.run())
        results.append({k: v.clone() for k, v in trainer.edit.state_dict().items()})
    assert results[0].keys() == results[1].keys()
    for key in results[0]:
        assert torch.equal(results[0][key], results[1][key]), key


def test_a_bf16_edit_looks_like_the_fp32_one():
    """Small version of the 40 dB check: a 256² generator with config-f's widths up to 256², a narrow
    e4e, the real photo pipeline; the edited face and photo in bf16 vs fp32."""
    torch.manual_seed(0)
    G = Generator(256, channel_multiplier=2)
    G.set_latent_avg(torch.zeros(512))
    encoder = random_encoder(n_styles=G.n_latent, stages=((16, 32, 1), (32, 48, 1), (48, 64, 1), (64, 96, 1)))
    config = EditConfig.for_generator(G, "x", mapped_layers=(4, 8), blend_layer=7, attention_layers=(3, 5))
    torch.manual_seed(1)
    edit = FeatEdit(config).eval()
    edit.mapper.amplify(30)
    results = {}
    for precision in ("fp32", "bf16"):
        session = Session("tiny", device="cpu", precision=precision, models={"generator": G, "encoder": encoder})
        results[precision] = edit_photo(session, DATA / "grace_hopper.jpg", [(edit, 1.0)], threshold=0.2)
        assert session.dtype == {"fp32": torch.float32, "bf16": torch.bfloat16}[precision]
        encoder = random_encoder(n_styles=G.n_latent, stages=((16, 32, 1), (32, 48, 1), (48, 64, 1), (64, 96, 1)))
    a, b = results["fp32"], results["bf16"]
    assert not np.array_equal(np.asarray(a.edited), np.asarray(b.edited)), "bf16 did not run"
    assert psnr(np.asarray(a.edited), np.asarray(b.edited)) >= 40
    assert psnr(np.asarray(a.photo), np.asarray(b.photo)) >= 40


@pytest.mark.parametrize("batch", [1, 2])
def test_bf16_synthesis_keeps_every_layer_in_bf16_and_the_rgb_in_fp32(batch):
    """No silent promotion back to fp32 (e.g. by an fp32 bias), and the image close to fp32's."""
    torch.manual_seed(0)
    G = Generator(64, style_dim=64, n_mlp=1, channels=dict.fromkeys((4, 8, 16, 32, 64), 32)).eval()
    wplus = torch.randn(batch, G.n_latent, 64)
    dtypes = []
    hooks = [
        G.styled_conv(k).register_forward_hook(lambda module, args, out: dtypes.append(out.dtype))
        for k in range(G.num_layers)
    ]
    try:
        with torch.no_grad():
            state = G.synthesize_until(wplus, G.num_layers - 1, dtype=torch.bfloat16)
    finally:
        for hook in hooks:
            hook.remove()
    with torch.no_grad():
        reference = G.synthesis(wplus)
    assert dtypes == [torch.bfloat16] * G.num_layers
    assert state.skip.dtype == torch.float32
    assert all(p.dtype == torch.float32 for p in G.parameters())
    error = (state.skip - reference).pow(2).mean().sqrt() / reference.pow(2).mean().sqrt()
    assert 0 < error < 0.02
