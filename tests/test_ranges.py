"""Each value a person sets has one range and one default (`editing.ranges`): the Edit and Train
tabs' sliders, the YAML schema, the app's API and the command line agree, and out-of-range values are
refused with a message that gives the range."""

from __future__ import annotations

import socket

import gradio as gr
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from pydantic import ValidationError

from feat_space.cli import main
from feat_space.editing.ranges import STRENGTH, THRESHOLD
from feat_space.errors import FeatError
from feat_space.registry.registry import load_registry
from feat_space.registry.schema import Defaults
from feat_space.session import Session
from feat_space.ui import build_app
from feat_space.ui.context import AppContext, Limits
from feat_space.ui.edit_events import EditEvents
from feat_space.ui.edit_handlers import EditHandlers
from feat_space.ui.edit_tab import EXAMPLES, build_edit_tab

ASTRONAUT = next(p for p in EXAMPLES if "astronaut" in p)
PURPLE = "registry:purple-hair"
LIMITS = Limits(gpu_slots=2, queue_size=16, trainings=1, max_steps=50)


@pytest.fixture(scope="module")
def context() -> AppContext:
    return AppContext(Session("tiny", device="cpu"), load_registry(), LIMITS)


def bounds(slider: gr.Slider) -> tuple[float, float]:
    return slider.minimum, slider.maximum


def test_the_schema_takes_exactly_the_ranges():
    fields = Defaults.model_fields
    assert (fields["strength"].default, fields["mask_threshold"].default) == (STRENGTH.default, THRESHOLD.default)
    for value in (STRENGTH.low, STRENGTH.high):
        Defaults(strength=value)
    for value in (THRESHOLD.low, THRESHOLD.high):
        Defaults(mask_threshold=value)
    for bad in (STRENGTH.low - 0.01, STRENGTH.high + 0.01, 1e308):
        with pytest.raises(ValidationError):
            Defaults(strength=bad)
    for bad in (THRESHOLD.low - 0.01, THRESHOLD.high + 0.01):
        with pytest.raises(ValidationError):
            Defaults(mask_threshold=bad)


def test_the_pages_sliders_have_the_schemas_ranges(context):
    demo = build_app(context=context)
    sliders = [b for b in demo.blocks.values() if isinstance(b, gr.Slider)]
    edit_threshold = next(s for s in sliders if s.elem_id == "threshold")
    train_threshold = next(s for s in sliders if s.label == "Mask threshold")
    for slider in (edit_threshold, train_threshold):
        assert bounds(slider) == (THRESHOLD.low, THRESHOLD.high) and slider.value == THRESHOLD.default

    # The strength sliders render per ticked edit (gr.render): render one as a page would.
    with gr.Blocks() as page:
        tab = build_edit_tab(context)
        events = EditEvents(context, tab, EditHandlers(context))
        with tab.strengths_here:
            events.sliders([PURPLE], {}, None)
    strength = next(b for b in page.blocks.values() if isinstance(b, gr.Slider) and "feat-strength" in b.elem_classes)
    assert bounds(strength) == (STRENGTH.low, STRENGTH.high) and strength.step == STRENGTH.step


def test_out_of_range_values_are_refused_saying_the_range(context):
    handlers = EditHandlers(context)
    for bad in (1e308, -1e9, float("nan"), STRENGTH.high + 0.05):
        with pytest.raises(FeatError, match=r"The strength of registry:purple-hair must be from -3 to 3"):
            handlers.choices([PURPLE], {PURPLE: bad}, None)
    assert handlers.choices([PURPLE], {PURPLE: STRENGTH.low}, None)[0][1] == STRENGTH.low
    for bad in (1.0, -0.1, 1e308):
        with pytest.raises(FeatError, match=r"The mask threshold must be from 0 to 0\.95"):
            THRESHOLD.check(bad)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_api_refuses_out_of_range_values(context):
    demo = build_app(context=context)
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        client = Client(url, verbose=False)
        photo = handle_file(ASTRONAUT)
        with pytest.raises(AppError, match=r"The strength of registry:purple-hair must be from -3 to 3.*got 1e\+308"):
            client.predict(photo=photo, edits=[PURPLE], strengths={PURPLE: 1e308}, api_name="/edit")
        with pytest.raises(AppError, match=r"The strength of registry:purple-hair must be from -3 to 3.*got -1e\+09"):
            client.predict(photo=photo, edits=[PURPLE], strengths={PURPLE: -1e9}, api_name="/edit")
        with pytest.raises(AppError, match=r"The mask threshold must be from 0 to 0\.95"):
            client.predict(photo=photo, edits=[PURPLE], threshold=5, api_name="/edit")
    finally:
        demo.close()


def test_the_command_line_refuses_out_of_range_values(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FEAT_PROFILE", "tiny")
    out = tmp_path / "out"
    assert main(["edit", ASTRONAUT, "--edit", "purple-hair=1e308", "--out", str(out)]) == 1
    assert "The strength in --edit purple-hair=1e308 must be from -3 to 3" in capsys.readouterr().err
    assert main(["edit", ASTRONAUT, "--edit", "purple-hair", "--threshold", "0.99", "--out", str(out)]) == 1
    assert "--threshold must be from 0 to 0.95" in capsys.readouterr().err
    assert not out.exists(), "refused before any work"
