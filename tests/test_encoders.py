"""e4e encoder and IR-SE50 ArcFace: official checkpoint layouts in, reference outputs out.

Checkpoints are filled from the manifests (`tests/weights.py`), saved in the official layouts and read back
through the public loaders; outputs are compared with the reference implementations' (`tests/fixtures/*.npz`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from weights import FIXTURES, fill, manifest

from feat_space.errors import CheckpointError, FeatError
from feat_space.models import load_arcface, load_encoder

E4E_OPTS = {"encoder_type": "Encoder4Editing", "stylegan_size": 1024, "start_from_latent_avg": True}


def max_error(actual: torch.Tensor, reference: np.ndarray) -> float:
    return float(np.abs(actual.numpy() - reference).max())


def assert_close(actual: torch.Tensor, reference: np.ndarray) -> float:
    assert tuple(actual.shape) == reference.shape
    error = max_error(actual, reference)
    assert error <= 1e-4 * max(1.0, float(np.abs(reference).max())), error
    return error


def cheap_state(name: str) -> dict[str, torch.Tensor]:
    """A manifest's layout with zero tensors that share one element each (tiny on disk, fast to save)."""
    return {
        e["key"]: torch.zeros((), dtype=getattr(torch, e["dtype"])).expand(e["shape"])
        for e in manifest(name)["tensors"]
    }


def e4e_checkpoint(encoder: dict, latent_avg: torch.Tensor, decoder: dict | None = None) -> dict:
    """e4e_ffhq_encode.pt layout: encoder and decoder under 'state_dict', latent_avg and opts at top level.

    The real file holds a 1024 decoder; a 256 one keeps the test small (the encoder loader only skips it).
    """
    decoder = cheap_state("stylegan2_256_cm2") if decoder is None else decoder
    state = {"encoder." + k: v for k, v in encoder.items()} | {"decoder." + k: v for k, v in decoder.items()}
    return {"state_dict": state, "latent_avg": latent_avg, "opts": dict(E4E_OPTS)}


@pytest.fixture(scope="module")
def e4e_reference() -> dict[str, np.ndarray]:
    return dict(np.load(FIXTURES / "e4e_encoder_seed0.npz"))


@pytest.fixture(scope="module")
def arcface_reference() -> dict[str, np.ndarray]:
    return dict(np.load(FIXTURES / "arcface_ir_se50_seed0.npz"))


@pytest.fixture(scope="module")
def e4e_path(tmp_path_factory: pytest.TempPathFactory, e4e_reference: dict) -> Path:
    path = tmp_path_factory.mktemp("e4e") / "e4e_ffhq_encode.pt"
    latent_avg = torch.from_numpy(e4e_reference["latent_avg"])
    torch.save(e4e_checkpoint(fill("e4e_encoder", 0), latent_avg, fill("stylegan2_256_cm2", 0)), path)
    return path


@pytest.fixture(scope="module")
def encoder(e4e_path: Path):
    return load_encoder(e4e_path)


@pytest.fixture(scope="module")
def arcface_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("arcface") / "model_ir_se50.pth"
    torch.save(fill("model_ir_se50", 0), path)
    return path


@pytest.fixture(scope="module")
def small_image() -> torch.Tensor:
    """A 64x64 input: every e4e style block still reaches 1x1, at a sixteenth of the cost."""
    return torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1)) * 2 - 1


# --- e4e ---------------------------------------------------------------------------------------------------


def test_e4e_matches_reference(encoder, e4e_reference: dict) -> None:
    x = torch.from_numpy(e4e_reference["input"])
    assert not encoder.training
    with torch.no_grad():
        wplus = encoder(x)
        codes = encoder.encode_codes(x)
    wplus_error = assert_close(wplus, e4e_reference["wplus"])
    codes_error = assert_close(codes, e4e_reference["codes"])
    print(f"e4e max abs error: W+ {wplus_error:.3g}, codes {codes_error:.3g}")


def test_e4e_latent_avg_not_in_state_dict(encoder, e4e_reference: dict) -> None:
    assert "latent_avg" not in encoder.state_dict()
    assert torch.equal(encoder.latent_avg, torch.from_numpy(e4e_reference["latent_avg"]))


def test_e4e_latent_avg_row(encoder, small_image: torch.Tensor) -> None:
    row = torch.linspace(-1, 1, 512)
    saved = encoder.latent_avg.clone()
    try:
        encoder.set_latent_avg(row)
        with torch.no_grad():
            wplus, codes = encoder(small_image), encoder.encode_codes(small_image)
    finally:
        encoder.set_latent_avg(saved)
    assert wplus.shape == (2, 18, 512)
    torch.testing.assert_close(wplus, codes + row.expand(2, 18, 512), rtol=0, atol=1e-6)


def test_e4e_loader_accepts_latent_avg_row(tmp_path: Path, small_image: torch.Tensor) -> None:
    # All-zero weights except the style biases: the convs give 0, so code i is bias 0 (+ bias i for i > 0).
    encoder = cheap_state("e4e_encoder")
    biases = torch.randn(18, 512, generator=torch.Generator().manual_seed(2))
    encoder |= {f"styles.{i}.linear.bias": biases[i] for i in range(18)}
    row = torch.linspace(-1, 1, 512)
    path = tmp_path / "e4e_row.pt"
    torch.save(e4e_checkpoint(encoder, row), path)
    E = load_encoder(path)
    assert torch.equal(E.latent_avg, row)
    expected_codes = biases[0] + torch.cat([torch.zeros(1, 512), biases[1:]])
    with torch.no_grad():
        wplus = E(small_image)
        codes = E.encode_codes(small_image)
    torch.testing.assert_close(codes, expected_codes.expand(2, 18, 512), rtol=0, atol=1e-6)
    torch.testing.assert_close(wplus, (expected_codes + row).expand(2, 18, 512), rtol=0, atol=1e-6)


def test_e4e_rejects_bad_input(encoder) -> None:
    with pytest.raises(ValueError, match=r"\[B, 3, H, W\]"):
        encoder(torch.zeros(3, 64, 64))
    with pytest.raises(ValueError, match=r"\[B, 3, H, W\]"):
        encoder.encode_codes(torch.zeros(1, 4, 64, 64))
    with pytest.raises(ValueError, match="latent_avg"):
        encoder.set_latent_avg(torch.zeros(17, 512))


@pytest.mark.parametrize("content", ["arcface", "g_ema", "garbage"])
def test_load_encoder_rejects_other_files(tmp_path: Path, content: str) -> None:
    path = tmp_path / f"{content}.pt"
    if content == "arcface":
        torch.save(cheap_state("model_ir_se50"), path)
    elif content == "g_ema":
        torch.save({"g_ema": cheap_state("stylegan2_256_cm2"), "latent_avg": torch.zeros(512)}, path)
    else:
        path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError) as info:
        load_encoder(path)
    assert str(path) in str(info.value)


def test_load_encoder_rejects_missing_latent_avg(tmp_path: Path) -> None:
    path = tmp_path / "no_latent_avg.pt"
    ckpt = e4e_checkpoint(cheap_state("e4e_encoder"), torch.zeros(512))
    del ckpt["latent_avg"]
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match="latent_avg") as info:
        load_encoder(path)
    assert str(path) in str(info.value)


def test_load_encoder_rejects_wrong_key(tmp_path: Path) -> None:
    path = tmp_path / "missing.pt"
    encoder = cheap_state("e4e_encoder")
    del encoder["latlayer2.bias"]
    torch.save(e4e_checkpoint(encoder, torch.zeros(512)), path)
    with pytest.raises(CheckpointError, match=r"missing keys latlayer2\.bias") as info:
        load_encoder(path)
    assert str(path) in str(info.value)


# --- ArcFace -----------------------------------------------------------------------------------------------


def test_arcface_matches_reference(arcface_path: Path, arcface_reference: dict) -> None:
    A = load_arcface(arcface_path)
    assert not A.training
    with torch.no_grad():
        embedding = A(torch.from_numpy(arcface_reference["input"]))
    print(f"ArcFace max abs error: {assert_close(embedding, arcface_reference['embedding']):.3g}")
    torch.testing.assert_close(embedding.norm(dim=1), torch.ones(1))


def test_arcface_rejects_bad_input(arcface_path: Path) -> None:
    A = load_arcface(arcface_path)
    with pytest.raises(ValueError, match="112"):
        A(torch.zeros(1, 3, 128, 128))


@pytest.mark.parametrize(
    ("problem", "key"),
    [
        ("missing keys", "body.5.res_layer.1.weight"),
        ("unexpected keys", "body.24.res_layer.1.weight"),
        ("wrong shapes", "output_layer.3.weight"),
    ],
)
def test_load_arcface_rejects_bad_layout(tmp_path: Path, problem: str, key: str) -> None:
    state = cheap_state("model_ir_se50")
    if problem == "missing keys":
        del state[key]
    elif problem == "unexpected keys":
        state[key] = torch.zeros(512, 512, 3, 3)
    else:
        state[key] = torch.zeros(()).expand(512, 512 * 8 * 8)
    path = tmp_path / "model_ir_se50.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError) as info:
        load_arcface(path)
    message = str(info.value)
    assert isinstance(info.value, FeatError)
    assert str(path) in message and problem in message and key in message, message


def test_load_arcface_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.pth"
    with pytest.raises(CheckpointError, match="not found") as info:
        load_arcface(path)
    assert str(path) in str(info.value)


def test_module_layouts_equal_the_official_checkpoints():
    """Key names, order and shapes of e4e_ffhq_encode.pt's encoder and of model_ir_se50.pth."""
    from weights import manifest

    from feat_space.models import Encoder4Editing, IRSE50ArcFace

    for name, factory in [("e4e_encoder", lambda: Encoder4Editing(18)), ("model_ir_se50", IRSE50ArcFace)]:
        with torch.device("meta"):
            module = factory()
        expected = [(e["key"], torch.Size(e["shape"])) for e in manifest(name)["tensors"]]
        assert [(k, v.shape) for k, v in module.state_dict().items()] == expected, name
