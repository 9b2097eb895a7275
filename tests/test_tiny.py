"""The tiny profile: deterministic random models, in the official layouts, through the real loaders."""

from __future__ import annotations

import json
import threading
import time

import pytest
import torch

from feat_space import cli
from feat_space.guidance import load_clip
from feat_space.models import load_arcface, load_encoder, load_generator
from feat_space.weights.profiles import PROFILE_ENV, ProfileError, RealProfile, TinyProfile, get_profile
from feat_space.weights.tiny import TINY_NOTICE, tiny_files


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    start = time.perf_counter()
    built = tiny_files(tmp_path_factory.mktemp("tiny"))
    assert time.perf_counter() - start < 30  # "built locally in seconds" (about 2 s; generous for busy CI)
    return built


def manifest(files) -> dict:
    return json.loads((files.folder / "manifest.json").read_text())


def test_weights_are_deterministic(files, tmp_path):
    again = tiny_files(tmp_path)
    assert manifest(again)["sha256"] == manifest(files)["sha256"]


def test_building_leaves_the_global_random_state_alone(tmp_path):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    tiny_files(tmp_path)
    assert torch.equal(torch.rand(3), expected)


def test_generator_has_the_real_layout_only_narrower(files):
    G = load_generator(files.path("generator"))
    assert (G.size, G.n_latent, G.style_dim) == (1024, 18, 512)  # same W+ and layer indices as FFHQ config-f
    assert max(G.channels.values()) <= 32
    assert G.latent_avg is not None
    with torch.no_grad():
        image = G.synthesis(G.to_wplus(G.mapping(torch.randn(1, 512), psi=0.7)))
    assert image.shape == (1, 3, 1024, 1024) and torch.isfinite(image).all()


def test_e4e_file_holds_the_same_generator(files):
    from_g = load_generator(files.path("generator")).state_dict()
    from_e4e = load_generator(files.path("encoder")).state_dict()
    assert from_g.keys() == from_e4e.keys()
    assert all(torch.equal(from_g[k], from_e4e[k]) for k in from_g)


def test_encoder_gives_wplus_like_e4e(files):
    E = load_encoder(files.path("encoder"))
    with torch.no_grad():
        wplus = E(torch.rand(2, 3, 256, 256) * 2 - 1)
    assert wplus.shape == (2, 18, 512) and torch.isfinite(wplus).all()
    assert sum(p.numel() for p in E.parameters()) < 5_000_000


def test_arcface_gives_unit_embeddings(files):
    A = load_arcface(files.path("arcface"))
    with torch.no_grad():
        embedding = A(torch.rand(2, 3, 112, 112) * 2 - 1)
    assert embedding.shape == (2, 512)
    torch.testing.assert_close(embedding.norm(dim=1), torch.ones(2))


def test_clip_loads_through_open_clip_with_the_real_tokenizer(files):
    guide = load_clip(TinyProfile("tiny", False, "", TINY_NOTICE, root=files.folder.parent).clip_spec())
    assert guide.image_size == 224
    tokens = guide.tokenizer(["a face with blond hair"])
    assert tokens.shape == (1, 77) and int(tokens.max()) > 256  # BPE ids, not bytes: the real vocabulary
    assert guide.text_embedding("blond hair").shape == (32,)


def test_profile_choice(monkeypatch, tmp_path):
    monkeypatch.delenv(PROFILE_ENV, raising=False)
    assert isinstance(get_profile(), RealProfile) and get_profile().trained and get_profile().notice is None
    monkeypatch.setenv(PROFILE_ENV, "tiny")
    assert isinstance(get_profile(), TinyProfile)
    assert get_profile("real").name == "real"  # an explicit name wins over the environment
    with pytest.raises(ProfileError, match="'real' or 'tiny'"):
        get_profile("huge")


def test_tiny_says_plainly_that_it_is_untrained():
    profile = get_profile("tiny")
    assert not profile.trained
    assert "UNTRAINED" in profile.notice and "random weights" in profile.notice and "meaningless" in profile.notice


def test_tiny_profile_serves_paths_for_every_role(files):
    profile = get_profile("tiny", tiny_root=files.folder.parent)
    assert {role: profile.model_file(role) for role in ("generator", "encoder", "arcface", "clip")} == {
        "generator": files.path("generator"),
        "encoder": files.path("encoder"),
        "arcface": files.path("arcface"),
        "clip": files.path("clip"),
    }


def test_concurrent_builders_agree(tmp_path):
    results, errors = [], []

    def build():
        try:
            results.append(tiny_files(tmp_path).folder)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=build) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(results)) == 1
    assert [p.name for p in tmp_path.iterdir()] == [results[0].name]  # no staging folders left behind


def test_download_command_builds_the_tiny_profile(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("FEAT_CACHE", str(tmp_path))
    monkeypatch.delenv(PROFILE_ENV, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # no network needed
    assert cli.main(["--profile", "tiny", "download"]) == 0
    out = capsys.readouterr().out
    assert TINY_NOTICE in out and "stylegan2-tiny.pt" in out
    assert (tmp_path / "tiny").is_dir()
