"""CLIP guidance mechanics (tiny CLIP: random weights, so only mechanics, never semantics)."""

from __future__ import annotations

import threading

import pytest
import torch
from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

from feat_space.errors import CheckpointError
from feat_space.guidance import ClipGuide, ClipSpec, load_clip
from feat_space.weights.profiles import get_profile


@pytest.fixture(scope="module")
def guide(tmp_path_factory) -> ClipGuide:
    return load_clip(get_profile("tiny", tiny_root=tmp_path_factory.mktemp("tiny")).clip_spec())


def images(batch: int = 2, size: int = 256, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, size, size, generator=g) * 2 - 1


def test_loss_gradients_reach_the_images(guide):
    x = images().requires_grad_(True)
    loss = guide.loss(x, "a face with a big smile")
    assert loss.shape == (2,)
    loss.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in guide.model.parameters())  # CLIP stays frozen


def test_gradients_flow_from_generator_sized_images(guide):
    x = images(1, 1024).requires_grad_(True)  # the 1024² -> 224² path: antialiased resize in torch
    guide.loss(x, "blond hair").backward()
    assert x.grad.shape == x.shape and x.grad.abs().sum() > 0


def test_text_embeddings_are_computed_once(guide):
    before = guide.text_encodings
    first = guide.text_embedding("red lipstick")
    second = guide.text_embedding("red lipstick")
    assert second is first and guide.text_encodings == before + 1
    guide.loss(images(), "red lipstick")
    guide.score(images(), "red lipstick")
    assert guide.text_encodings == before + 1
    guide.text_embedding("grey hair")
    assert guide.text_encodings == before + 2
    torch.testing.assert_close(first.norm(), torch.tensor(1.0))


def test_text_cache_is_bounded_and_thread_safe(guide):
    small = ClipGuide(guide.model, guide.tokenizer, mean=OPENAI_DATASET_MEAN, std=OPENAI_DATASET_STD,
                      image_size=224, text_cache_size=2)  # fmt: skip
    barrier = threading.Barrier(6)

    def ask():
        barrier.wait()
        small.text_embedding("same prompt")

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert small.text_encodings == 1  # six concurrent requests, one encoding
    for prompt in ("a", "b", "c"):
        small.text_embedding(prompt)
    assert small.text_encodings == 4
    small.text_embedding("c")  # kept: the two most recent prompts are cached
    small.text_embedding("b")
    assert small.text_encodings == 4
    small.text_embedding("a")  # evicted: only two fit
    assert small.text_encodings == 5


def test_preprocess_is_clip_normalisation_in_torch(guide):
    grey = torch.full((1, 3, 512, 512), 0.2)  # [-1, 1] -> 0.6 in [0, 1]
    out = guide.preprocess(grey)
    assert out.shape == (1, 3, 224, 224)
    expected = (0.6 - torch.tensor(OPENAI_DATASET_MEAN)) / torch.tensor(OPENAI_DATASET_STD)
    torch.testing.assert_close(out[0, :, 100, 100], expected)
    with pytest.raises(ValueError, match="B, 3, H, W"):
        guide.preprocess(torch.zeros(3, 224, 224))


def test_scores_and_losses_agree(guide):
    x = images(3)
    similarity = guide.similarity(x, "glasses")
    assert similarity.shape == (3,) and (similarity.abs() <= 1 + 1e-5).all()
    torch.testing.assert_close(guide.loss(x, "glasses"), 1 - similarity)
    score = guide.score(x, "glasses")
    assert not score.requires_grad
    torch.testing.assert_close(score, 100 * similarity.detach())


def test_batches_embed_like_single_images(guide):
    x = images(3)
    batched = guide.image_embedding(x)
    single = torch.cat([guide.image_embedding(x[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(batched.norm(dim=1), torch.ones(3))


def test_bad_weights_are_a_checkpoint_error(guide, tmp_path):
    spec = get_profile("tiny", tiny_root=tmp_path / "t").clip_spec()
    with pytest.raises(CheckpointError, match="not found"):
        load_clip(ClipSpec(spec.model_name, tmp_path / "missing.safetensors", spec.config))
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(spec.weights.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="not a valid"):
        load_clip(ClipSpec(spec.model_name, broken, spec.config))
