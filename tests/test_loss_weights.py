"""One home for the loss weights: every loss the trainer computes has its `<loss>_weight` setting, and
the total is exactly their weighted sum (the Train tab's plot reads the same `loss_weights`)."""

from __future__ import annotations

import pytest
import torch

from feat_space.editing.recipe import REGION_PRESETS
from feat_space.training.losses import loss_weights
from feat_space.training.settings import TrainingSettings
from feat_space.training.trainer import Trainer


def test_weights_follow_the_settings():
    weights = loss_weights(TrainingSettings(l2_weight=0.25))
    assert weights["l2"] == 0.25
    assert all(not name.endswith("_weight") for name in weights)


def test_the_trainers_losses_are_the_weighted_ones(tiny_session):
    session = tiny_session
    G = session.generator
    settings = TrainingSettings(steps=1, batch_size=1, id_weight=0.5)
    config = REGION_PRESETS["hair colour"].config_for(G, "purple hair")
    trainer = Trainer(G, session.clip, session.arcface, config, settings)
    with torch.no_grad():
        terms = trainer.terms(trainer.sample_wplus(0))
    parts = dict(terms.parts)
    total = parts.pop("total")
    weights = loss_weights(settings)
    assert set(parts) == set(weights) == set(terms.weights)
    assert total.item() == pytest.approx(sum(terms.weights[k] * v.item() for k, v in parts.items()), rel=1e-5)
    # As configured, but for those that are scheduled: the area term (warm-up), the change term (gated by how
    # met the guide is: off before its pull is measured) and the hidden strength (a share of the change term's).
    scheduled = ("area", "change", "hidden")
    assert {k: w for k, w in terms.weights.items() if k not in scheduled} == {
        k: w for k, w in weights.items() if k not in scheduled
    }
    assert terms.weights["change"] == 0 and weights["change"] > 0
    assert terms.weights["hidden"] == 0 and weights["hidden"] > 0
