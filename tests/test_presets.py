"""Region presets: each recipe offered once, each explained, and one suggested for a typed prompt."""

from __future__ import annotations

import pytest

from feat_space.editing.preset_suggestion import DEFAULT, suggest_preset
from feat_space.editing.recipe import PRESETS, REGION_PRESETS, preset_for


def test_no_two_presets_are_the_same_recipe():
    recipes = [p.recipe for p in PRESETS.values()]
    assert len(set(recipes)) == len(recipes)
    assert preset_for("mouth") is preset_for("eyes") is PRESETS["face features"], "the former twins are one preset"
    assert preset_for("skin") is preset_for("hair colour") is PRESETS["colour"]


def test_every_region_word_still_names_a_recipe():
    for word, recipe in REGION_PRESETS.items():
        assert recipe is preset_for(word).recipe
    with pytest.raises(KeyError):
        preset_for("elbows")


def test_each_preset_says_what_it_changes():
    said = {name: p.changes for name, p in PRESETS.items()}
    assert "64²" in said["face features"] and "32²" in said["hair"] and "32²" in said["lower face"]
    assert "colour" in said["colour"] and "final image" in said["colour"]


@pytest.mark.parametrize(
    ("prompt", "preset"),
    [
        ("a face with freckles", "colour"),
        ("a person with purple hair", "colour"),
        ("Blonde hair", "colour"),
        ("blond", "colour"),
        ("a blonde woman", "colour"),
        ("a brunette", "colour"),
        ("red lipstick", "small colour"),
        ("green eyes", "small colour"),
        ("a man with a beard", "lower face"),
        ("curly hair", "hair"),
        ("a bald man", "hair"),
        ("a face with a big smile", "face features"),
        ("closed eyes", "face features"),
    ],
)
def test_a_typed_prompt_gets_a_suggested_preset(prompt, preset):
    suggestion = suggest_preset(prompt)
    assert suggestion.preset == preset and suggestion.matched
    assert PRESETS[preset].suits in suggestion.reason


def test_an_unrecognised_prompt_falls_back_and_says_so():
    suggestion = suggest_preset("a face that looks like a painting")
    assert suggestion.preset == DEFAULT and suggestion.matched is None and "no keyword" in suggestion.reason
    assert suggest_preset("hairy") == suggest_preset("hairy"), "deterministic"
    assert suggest_preset("").preset == DEFAULT
