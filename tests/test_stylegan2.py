"""StyleGAN2 generator: checkpoint-exact outputs, layout inference, layer access, gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from weights import FIXTURES, fill

from feat_space.models import Generator, load_generator

REF = np.load(FIXTURES / "stylegan2_256_cm2_seed0.npz")


def assert_matches(actual: torch.Tensor, reference: np.ndarray) -> None:
    ref = torch.from_numpy(reference)
    assert actual.shape == ref.shape
    err = (actual - ref).abs().max().item()
    assert err <= 1e-4 * max(1.0, ref.abs().max().item()), f"max abs error {err}"


@pytest.fixture(scope="module")
def state_256() -> dict[str, torch.Tensor]:
    return fill("stylegan2_256_cm2", int(REF["seed"]))


@pytest.fixture(scope="module")
def rosinality_file(tmp_path_factory, state_256):
    path = tmp_path_factory.mktemp("ckpt") / "stylegan2-256.pt"
    torch.save({"g_ema": state_256, "latent_avg": torch.from_numpy(REF["latent_avg"])}, path)
    return path


@pytest.fixture(scope="module")
def G(rosinality_file) -> Generator:
    return load_generator(rosinality_file)


def test_layout_is_inferred_from_the_checkpoint(G):
    assert (G.size, G.n_latent, G.num_layers) == (256, 14, 13)
    assert G.channels[256] == 128  # channel multiplier 2
    assert not G.training
    assert torch.equal(G.latent_avg, torch.from_numpy(REF["latent_avg"]))


@torch.no_grad()
def test_reproduces_reference_outputs(G):
    assert_matches(G.synthesis(torch.from_numpy(REF["wplus"])), REF["image_from_wplus"])
    z = torch.from_numpy(REF["z"])
    w = G.mapping(z)
    assert_matches(w, REF["w_from_z"])
    assert_matches(G.synthesis(G.to_wplus(w)), REF["image_from_z"])
    assert_matches(G.synthesis(G.to_wplus(G.mapping(z, psi=0.7))), REF["image_from_z_trunc07"])


@torch.no_grad()
def test_batch_of_one_matches_batched_synthesis(G):
    # batch 1 modulates weights, larger batches modulate activations: same maths.
    wplus = torch.from_numpy(REF["wplus"])
    assert_matches(G.synthesis(wplus[1:]), REF["image_from_wplus"][1:])


@torch.no_grad()
def test_e4e_file_yields_the_same_generator(tmp_path, state_256):
    path = tmp_path / "e4e_ffhq_encode.pt"
    latent_avg = torch.from_numpy(REF["latent_avg"])
    state = {f"decoder.{k}": v for k, v in state_256.items()}
    state["encoder.input_layer.0.weight"] = torch.zeros(64, 3, 3, 3)  # other half of the file, ignored here
    torch.save({"state_dict": state, "latent_avg": latent_avg.repeat(14, 1), "opts": {"stylegan_size": 256}}, path)
    G = load_generator(path)
    assert torch.allclose(G.latent_avg, latent_avg)
    assert_matches(G.synthesis(torch.from_numpy(REF["wplus"])), REF["image_from_wplus"])


@pytest.mark.parametrize("size, multiplier", [(64, 1), (128, 2), (512, 1)])
def test_loads_other_sizes_and_channel_multipliers(tmp_path, size, multiplier):
    torch.manual_seed(size)
    original = Generator(size, channel_multiplier=multiplier).eval()
    path = tmp_path / "g.pt"
    torch.save({"g_ema": original.state_dict()}, path)
    G = load_generator(path)
    assert (G.size, G.channels[size], G.latent_avg) == (size, original.channels[size], None)
    wplus = torch.randn(1, G.n_latent, 512)
    with torch.no_grad():
        assert torch.equal(G.synthesis(wplus), original.synthesis(wplus))
    with pytest.raises(ValueError, match="latent_avg"):
        G.mapping(torch.randn(1, 512), psi=0.7)


@torch.no_grad()
def test_noise_is_fixed_by_default_and_random_on_request(G):
    wplus = torch.from_numpy(REF["wplus"][:1])
    assert torch.equal(G.synthesis(wplus), G.synthesis(wplus))
    a, b = G.synthesis(wplus, noise="random"), G.synthesis(wplus, noise="random")
    assert not torch.equal(a, b)
    zero = [torch.zeros(1, 1, G.resolution(k), G.resolution(k)) for k in range(G.num_layers)]
    assert not torch.equal(G.synthesis(wplus, noise=zero), G.synthesis(wplus))


@torch.no_grad()
def test_layers_can_be_read_and_replaced(G):
    wplus = torch.from_numpy(REF["wplus"])
    w_a, w_b = wplus[:1], wplus[1:]
    image_a = G.synthesis(w_a)
    for layer in (0, 5, 8, G.num_layers - 1):
        state = G.synthesize_until(w_a, layer)
        assert state.feature.shape[-1] == G.resolution(layer)
        assert torch.equal(G.features(w_a, [layer])[layer], state.feature)
        assert torch.allclose(G.synthesize_from(state, w_a), image_a, atol=1e-5)
    # Swapping in another latent's feature map and RGB at a layer, then finishing with the first
    # latent's styles, changes the image — and equals style mixing at that point. (Odd layer: its
    # skip came from the toRGB before it, which shares W+ entry `layer` with it.)
    layer = 7
    state_b = G.synthesize_until(w_b, layer)
    hybrid = G.synthesize_from(G.synthesize_until(w_a, layer).replace(feature=state_b.feature, skip=state_b.skip), w_a)
    mixed = torch.cat([w_b[:, : layer + 1], w_a[:, layer + 1 :]], dim=1)
    assert not torch.allclose(hybrid, image_a, atol=1e-3)
    assert torch.allclose(hybrid, G.synthesis(mixed), atol=1e-5)


def test_layer_at_a_resolution_is_its_last_conv(G):
    for layer in range(G.num_layers):
        last = layer + 1 if layer % 2 else layer  # an odd layer upsamples; the even one after it ends the block
        assert G.layer_at(G.resolution(layer)) == last
    assert G.layer_at(48) == G.layer_at(32)  # between powers of two: the one below
    assert G.layer_at(4 * G.size) == G.num_layers - 1
    with pytest.raises(ValueError, match="smallest"):
        G.layer_at(2)


def test_rejects_malformed_wplus(G):
    with pytest.raises(ValueError, match=r"\[B, 14, 512\]"):
        G.synthesis(torch.zeros(1, 18, 512))


@pytest.mark.parametrize("batch", [1, 2])
def test_gradients_through_synthesis(batch):
    """Autograd's directional derivative equals a central finite difference (float64)."""
    torch.manual_seed(batch)
    G = Generator(16).double()
    wplus = torch.randn(batch, G.n_latent, 512, dtype=torch.float64, requires_grad=True)
    probe = torch.randn(batch, 3, 16, 16, dtype=torch.float64)
    (G.synthesis(wplus) * probe).sum().backward()
    direction = torch.randn_like(wplus)
    eps = 1e-7  # small enough that no leaky-ReLU kink is crossed
    with torch.no_grad():
        plus = (G.synthesis(wplus + eps * direction) * probe).sum()
        minus = (G.synthesis(wplus - eps * direction) * probe).sum()
    numeric = (plus - minus) / (2 * eps)
    analytic = (wplus.grad * direction).sum()
    assert torch.isclose(analytic, numeric, rtol=1e-5), (analytic.item(), numeric.item())
    synthesis_params = [p for name, p in G.named_parameters() if not name.startswith("style.")]
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in synthesis_params)


@pytest.mark.parametrize("manifest_name", ["stylegan2-ffhq-config-f", "stylegan2_256_cm2"])
def test_module_layout_equals_the_official_checkpoint(manifest_name):
    """Key names, order and shapes of the official files, e.g. config-f's g_ema (1024², multiplier 2)."""
    from weights import manifest

    from feat_space.models.loading import _generator_config

    entries = manifest(manifest_name)["tensors"]
    shapes = {e["key"]: torch.Size(e["shape"]) for e in entries}
    config = _generator_config(shapes_as_tensors(shapes), manifest_name)
    assert config == {k: v for k, v in manifest(manifest_name)["config"].items()}
    with torch.device("meta"):
        G = Generator(**config)
    assert [(k, v.shape) for k, v in G.state_dict().items()] == [(e["key"], torch.Size(e["shape"])) for e in entries]


def shapes_as_tensors(shapes: dict[str, torch.Size]) -> dict[str, torch.Tensor]:
    return {k: torch.empty(s, device="meta") for k, s in shapes.items()}
