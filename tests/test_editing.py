"""FEAT edits: the mapper, the attention mask, and blending that is provably local."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from feat_space.editing.attention import AttentionNetwork
from feat_space.editing.blending import blend_margin, resize_mask
from feat_space.editing.edit import EditConfig, FeatEdit, apply_edits
from feat_space.editing.render import blended_synthesis, threshold_mask
from feat_space.editing.storage import load_edit_folder, save_edit
from feat_space.errors import CheckpointError, FeatError
from feat_space.models import Generator

SIZE = 64


@pytest.fixture(scope="module")
def G() -> Generator:
    torch.manual_seed(0)
    return Generator(SIZE, channel_multiplier=1).eval().requires_grad_(False)


@pytest.fixture(scope="module")
def wplus(G) -> torch.Tensor:
    torch.manual_seed(1)
    return G.to_wplus(G.mapping(torch.randn(2, 512))).clone()


def make_edit(G: Generator, blend_layer="rgb", mapped=(2, 9), seed=0, **options) -> FeatEdit:
    torch.manual_seed(seed)
    config = EditConfig.for_generator(G, "a smiling face", mapped, blend_layer, (3, 5), **options)
    edit = FeatEdit(config).eval()
    # A visible edit: scale the mapper's last layers up (random init maps to a tiny Δ).
    with torch.no_grad():
        for mlp in edit.mapper.mlps:
            mlp.layers[-1].weight.mul_(50)
    return edit


def box_mask(batch: int, size: int, lo: int, hi: int) -> torch.Tensor:
    mask = torch.zeros(batch, 1, size, size)
    mask[..., lo:hi, lo:hi] = 1
    return mask


@torch.no_grad()
@pytest.mark.parametrize("layer", [4, 7, "rgb"])
def test_zero_mask_reproduces_the_reconstruction_exactly(G, wplus, layer):
    w_edit = wplus + torch.randn_like(wplus)
    out = blended_synthesis(G, wplus, w_edit, torch.zeros(2, 1, 16, 16), layer)
    assert torch.equal(out, G.synthesis(wplus))


@torch.no_grad()
@pytest.mark.parametrize("layer", [4, 7])
def test_full_mask_gives_the_edited_features_with_original_styles_after(G, wplus, layer):
    w_edit = wplus + torch.randn_like(wplus)
    out = blended_synthesis(G, wplus, w_edit, torch.ones(2, 1, 16, 16), layer)
    expected = G.synthesize_from(G.synthesize_until(w_edit, layer), wplus)
    assert torch.equal(out, expected)
    assert not torch.allclose(out, G.synthesis(wplus), atol=1e-3)


@torch.no_grad()
def test_full_mask_at_rgb_is_the_edited_image(G, wplus):
    w_edit = wplus + torch.randn_like(wplus)
    assert torch.equal(blended_synthesis(G, wplus, w_edit, torch.ones(2, 1, 8, 8), "rgb"), G.synthesis(w_edit))


@torch.no_grad()
def test_rgb_blending_leaves_pixels_outside_the_mask_bit_identical(G, wplus):
    w_edit = wplus + torch.randn_like(wplus)
    mask = box_mask(2, SIZE, 20, 40)
    out = blended_synthesis(G, wplus, w_edit, mask, "rgb")
    original = G.synthesis(wplus)
    outside = mask.expand_as(out) == 0
    assert torch.equal(out[outside], original[outside])
    assert not torch.allclose(out[~outside], original[~outside], atol=1e-3)


@torch.no_grad()
@pytest.mark.parametrize("layer", [4, 6, 7])
def test_feature_blending_changes_nothing_beyond_the_margin(G, wplus, layer):
    res = G.resolution(layer)
    lo, hi = res // 4, res // 2  # mask support in the layer's own pixels
    mask = box_mask(2, res, lo, hi)
    out = blended_synthesis(G, wplus, wplus + torch.randn_like(wplus), mask, layer)
    original = G.synthesis(wplus)
    scale = SIZE // res
    margin = blend_margin(G, layer)
    keep = torch.ones(SIZE, SIZE, dtype=torch.bool)
    keep[max(lo * scale - margin, 0) : hi * scale + margin, max(lo * scale - margin, 0) : hi * scale + margin] = False
    assert keep.any(), "margin covers the whole image: test needs a smaller mask"
    diff = (out - original).abs().amax(dim=(0, 1))
    assert diff[keep].max().item() <= 1e-6
    assert diff[~keep].max().item() > 1e-3


def test_margin_grows_toward_early_layers(G):
    margins = [blend_margin(G, k) for k in range(G.num_layers)]
    assert margins == sorted(margins, reverse=True)
    assert blend_margin(G, "rgb") == 0


@torch.no_grad()
def test_mapper_changes_only_its_layers_and_strength_scales_it(G, wplus):
    edit = make_edit(G, mapped=(2, 9))
    delta = edit.mapper(wplus)
    assert delta[:, :2].abs().max() == 0 and delta[:, 9:].abs().max() == 0
    assert delta[:, 2:9].abs().min(dim=-1).values.gt(0).all()
    assert torch.equal(edit.edit_latent(wplus, 0.0), wplus)
    assert torch.allclose(edit.edit_latent(wplus, 2.0) - wplus, 2 * delta)
    assert [len(range(a, b)) for a, b in edit.mapper.groups] == [2, 4, 1]  # coarse | medium | fine


@torch.no_grad()
def test_edit_output_and_mask_threshold(G, wplus):
    edit = make_edit(G, blend_layer=6, mapped=(2, 8), mask_resolution=16)
    out = edit(G, wplus, strength=1.0)
    assert out.image.shape == (2, 3, SIZE, SIZE) and out.mask.shape == (2, 1, 16, 16)
    assert out.mask.min() >= 0 and out.mask.max() <= 1
    nothing = edit(G, wplus, strength=1.0, threshold=1.0)
    assert torch.equal(nothing.image, G.synthesis(wplus))
    m = torch.tensor([0.1, 0.5, 0.75, 1.0])
    assert torch.allclose(threshold_mask(m, 0.5), torch.tensor([0.0, 0.0, 0.5, 1.0]))


@torch.no_grad()
def test_several_edits_compose_in_order_with_united_masks(G, wplus):
    a, b = make_edit(G, blend_layer=8, seed=1), make_edit(G, blend_layer="rgb", mapped=(6, 10), seed=2)
    both = apply_edits(G, wplus, [(a, 1.0), (b, 0.5)])
    expected_w = b.edit_latent(a.edit_latent(wplus, 1.0), 0.5)
    assert torch.equal(both.wplus_edit, expected_w)
    features = G.features(wplus, [3, 5])
    ma, mb = a.mask(features), b.mask(features)
    assert torch.allclose(both.mask, 1 - (1 - ma) * (1 - mb))
    assert torch.equal(apply_edits(G, wplus, [(a, 1.0)]).image, a(G, wplus, 1.0).image)


@torch.no_grad()
def test_saved_edit_loads_and_edits_identically(G, wplus, tmp_path):
    edit = make_edit(G, blend_layer=6, mapped=(2, 8))
    folder = save_edit(edit, tmp_path / "smile")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    loaded = load_edit_folder(folder)
    assert loaded.config == edit.config
    assert torch.equal(loaded(G, wplus).image, edit(G, wplus).image)


@torch.no_grad()
def test_an_edit_saved_before_the_magnitude_path_loads_with_the_same_masks(G, wplus, tmp_path):
    """Edits trained before the attention read |x| (a mix conv over x alone) still load, and mask alike."""
    edit = make_edit(G)
    # Some weight on x, as a trained edit has; none on |x|, as the old network had.
    edit.attention.mix.weight[:, : edit.attention.reduced].normal_()
    folder = save_edit(edit, tmp_path / "old")
    state = load_file(str(folder / "model.safetensors"))
    state["attention.mix.weight"] = state["attention.mix.weight"][:, : edit.attention.reduced].contiguous()
    save_file(state, str(folder / "model.safetensors"))
    loaded = load_edit_folder(folder)
    features = G.features(wplus, list(edit.config.attention_layers))
    assert torch.equal(loaded.mask(features), edit.mask(features))


def _two_sided_batch(g: torch.Generator, batch: int = 8, size: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Smooth random features [B, 4, size, size] and the part at both extremes of their first channel."""
    coarse = torch.randn(batch, 4, 4, 4, generator=g)
    features = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)
    first = features[:, :1]
    score = (first - first.flatten(1).median(1).values.view(-1, 1, 1, 1)).abs()
    cut = torch.quantile(score.flatten(1), 0.8, dim=1).view(-1, 1, 1, 1)
    return features, score >= cut


def test_the_attention_learns_a_part_at_both_extremes_of_a_feature():
    """Eyes, or the dark and bright sides of a hair line, sit at both ends of one feature: no linear read
    of it marks both: trained alike, the mix over x alone marked nothing (IoU 0.00 on seeds 0-3; this
    network 0.82-0.84)."""
    torch.manual_seed(0)
    attention = AttentionNetwork([4], channels=4, resolution=16)
    optimizer = torch.optim.Adam(attention.parameters(), lr=0.03)
    g = torch.Generator().manual_seed(0)
    for _ in range(150):
        features, part = _two_sided_batch(g)
        loss = torch.nn.functional.binary_cross_entropy(attention([features]), part.float())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    features, part = _two_sided_batch(torch.Generator().manual_seed(99), batch=32)
    with torch.no_grad():
        hit = attention([features]) > 0.5
    iou = (hit & part).sum() / (hit | part).sum()
    assert iou > 0.7, f"IoU {iou:.2f}"


def test_broken_edit_files_are_refused(G, tmp_path):
    folder = save_edit(make_edit(G), tmp_path / "e")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "blend_layr": 3}))
    with pytest.raises(CheckpointError, match="blend_layr"):
        load_edit_folder(folder)
    (folder / "config.json").write_text(json.dumps({**config, "attention_channels": 4}))
    with pytest.raises(CheckpointError, match="wrong shapes"):
        load_edit_folder(folder)
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="Cannot read edit weights"):
        load_edit_folder(folder)
    with pytest.raises(CheckpointError, match="not found"):
        load_edit_folder(tmp_path / "missing")


@torch.no_grad()
def test_composed_edits_keep_every_edits_latent_change(G, wplus):
    """A colour edit's fine W+ entries still count next to a shape edit that blends earlier."""
    shape = make_edit(G, blend_layer=6, mapped=(2, 8), seed=1)
    colour = make_edit(G, blend_layer="rgb", mapped=(8, 10), seed=2)  # entries a layer-6 blend never reads
    raw = colour.mask(G.features(wplus, [3, 5]))
    t = float(raw.median())  # a threshold that leaves about half of the colour mask at exactly 0
    with_colour = apply_edits(G, wplus, [(shape, 1.0), (colour, 1.0)], threshold=t).image
    without = apply_edits(G, wplus, [(shape, 1.0), (colour, 0.0)], threshold=t).image
    assert (with_colour - without).abs().max() > 1e-3
    # ...and the colour edit changes nothing outside its own mask.
    m = resize_mask(threshold_mask(raw, t), SIZE)
    assert (m == 0).any()
    assert torch.equal(with_colour[(m == 0).expand_as(with_colour)], without[(m == 0).expand_as(without)])


def test_config_refuses_mapped_entries_the_blend_never_reads(G):
    with pytest.raises(ValueError, match="no effect"):
        EditConfig.for_generator(G, "x", (2, 9), 6, (3, 5))
    EditConfig.for_generator(G, "x", (2, 8), 6, (3, 5))  # layer 6's toRGB reads entry 7: fine
    EditConfig.for_generator(G, "x", (2, 8), 7, (3, 5))  # an odd layer reads up to its own entry


def test_edit_refuses_a_generator_of_another_layout(G):
    edit = make_edit(G)
    with pytest.raises(FeatError, match="64² generator"):
        edit.check_generator(Generator(128, channel_multiplier=1))
