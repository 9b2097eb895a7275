"""The balance probe (training.balance, `train --probe`): each loss term's pull on the latent offset."""

from __future__ import annotations

import pytest
import torch

from feat_space.cli import main
from feat_space.editing.recipe import REGION_PRESETS
from feat_space.errors import FeatError
from feat_space.session import Session
from feat_space.training.balance import balance_probe
from feat_space.training.settings import TrainingSettings


@pytest.fixture(scope="module")
def session():
    return Session("tiny", device="cpu")


def probe(session, steps=3, **settings):
    G = session.generator
    config = REGION_PRESETS["face features"].config_for(G, "a face with a big smile")
    return balance_probe(G, session.clip, session.arcface, config, TrainingSettings(**settings), steps=steps)


def test_the_probe_measures_each_weighted_term_on_the_latent_offset(session):
    assert session.clip is not None and session.arcface is not None  # loaded (random init) before the state is read
    state = torch.random.get_rng_state()
    plain, heavy = probe(session), probe(session, id_weight=1.0)
    assert torch.equal(state, torch.random.get_rng_state())  # the caller's random state is untouched
    before = {t.name: t for t in plain.before}
    assert set(before) == {"clip", "l2", "id", "change", "hidden", "area", "tv"}
    # gated off until the guide's pull is measured (and met); the hidden strength is a share of the change term's
    assert before["change"].weight == 0 and before["hidden"].weight == 0
    assert before["clip"].on_delta > 0 and before["l2"].on_delta > 0 and before["id"].on_delta > 0
    assert before["area"].on_delta == 0 and before["tv"].on_delta == 0  # mask terms do not reach Δ
    # Step 0 is the same edit and latents: a 10x identity weight is a 10x identity gradient, nothing else moves.
    heavy_before = {t.name: t for t in heavy.before}
    assert heavy_before["id"].on_delta == pytest.approx(10 * before["id"].on_delta, rel=1e-4)
    assert heavy_before["clip"].on_delta == pytest.approx(before["clip"].on_delta, rel=1e-4)
    assert plain.ratio_to_guide(plain.before)["clip"] == 1
    assert [t.on_delta for t in plain.after] != [t.on_delta for t in plain.before]  # it trained in between
    text = "\n".join(plain.lines())
    assert "Δ step 3" in text and "l2" in text and "/guide" in text
    assert plain.markdown().startswith("| term | weight |")


def test_train_probe_prints_the_balance_and_saves_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FEAT_PROFILE", "tiny")
    out = tmp_path / "smile"
    assert main(["train", "edits/smile.yaml", "--probe", "2", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Δ step 0" in printed and "Δ step 2" in printed
    assert not out.exists()
    assert main(["train", "edits/smile.yaml", "--probe", "0"]) == 1
    assert "--probe takes a number of steps" in capsys.readouterr().err


class _NotANumber:
    """A guide whose loss is NaN for every image (a broken guide, or one a rate blew up)."""

    def __init__(self, guide):
        self.guide = guide

    def loss(self, images: torch.Tensor, prompt: str) -> torch.Tensor:
        return self.guide.loss(images, prompt) * float("nan")


def test_a_probe_that_breaks_names_the_term_that_is_not_finite(session):
    G = session.generator
    config = REGION_PRESETS["face features"].config_for(G, "a face with a big smile")
    with pytest.raises(FeatError, match=r"probe stopped at step 10: the clip term was not a finite number"):
        balance_probe(G, _NotANumber(session.clip), session.arcface, config, TrainingSettings(), steps=12)
