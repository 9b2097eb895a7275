"""The Train tab's own rules: where training runs by default, the time estimate before Start, and
the form's entry (preset, threshold)."""

from __future__ import annotations

import threading
import time
import types

import gradio as gr
import pytest
from space_env import api_fn, on_a_space_with_sign_in

from feat_space.errors import FeatError
from feat_space.registry.registry import load_registry
from feat_space.ui import build_app, training_view
from feat_space.ui.context import AppContext, Limits
from feat_space.ui.train_tab import HERE, ON_JOBS
from feat_space.ui.training_form import default_name, preset_help, suggested_region, training_entry
from feat_space.ui.training_local import make_local_handler
from feat_space.ui.training_view import LocalSpeed


@pytest.fixture(scope="module")
def context(tiny_session) -> AppContext:
    return AppContext(tiny_session, load_registry(), Limits(max_steps=2000))


def test_the_estimate_is_measured_seconds_per_step_times_steps(context):
    speed = LocalSpeed(context)
    assert "Measuring" in speed.text(2000, jobs_offered=True)
    speed.record(4.6, "a test")
    said = speed.text(2000, jobs_offered=True)
    assert "about 2.6 h" in said and "4.60 s per step" in said and "CPU" in said and "Hugging Face Jobs" in said
    assert "--on hf-jobs" in speed.text(2000, jobs_offered=False), "without a login, the CLI is the way to a GPU"


def test_the_speed_is_measured_in_the_background(context):
    speed = LocalSpeed(context)
    speed.start()
    deadline = time.monotonic() + 120
    while speed.seconds is None and speed.error is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert speed.error is None and speed.seconds is not None and speed.seconds > 0
    assert "s per step" in speed.text(10, jobs_offered=False)


def test_the_probe_takes_a_training_slot_and_waits_while_none_is_free(context):
    speed = LocalSpeed(context)
    assert context.training_slots.acquire(blocking=False), "a visitor's training holds the slot"
    try:
        speed.start()
        deadline = time.monotonic() + 120
        while speed._started and time.monotonic() < deadline:  # the probe gives up at once
            time.sleep(0.1)
        assert speed.seconds is None and speed.error is None and speed.measuring, "nothing timed while busy"
    finally:
        context.training_slots.release()
    speed.start()  # the next tick, with the slot free
    deadline = time.monotonic() + 120
    while speed.seconds is None and speed.error is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert speed.seconds is not None and not speed.measuring
    assert context.training_slots.acquire(blocking=False), "the probe gave its slot back"
    context.training_slots.release()


def probe_until_stopped(context, monkeypatch) -> tuple[LocalSpeed, list[threading.Event]]:
    """A speed probe whose first timing runs (like a CPU step of the real models) until it is stopped;
    later ones time 2 s at once. Returns it, started and timing, and the stop events it was given."""
    stepping = threading.Event()
    calls: list[threading.Event] = []

    def timing(*args, stop: threading.Event, **kwargs) -> float:
        calls.append(stop)
        if len(calls) == 1:
            stepping.set()
            if stop.wait(60):
                raise FeatError("Timing the training steps failed before two steps were done.")
        return 2.0

    monkeypatch.setattr(training_view, "measure_seconds_per_step", timing)
    speed = LocalSpeed(context)
    speed.start()
    assert stepping.wait(60) and speed.holds_slot, "the probe is timing steps, in the training slot"
    return speed, calls


def test_a_visitor_s_start_stops_the_speed_probe_instead_of_being_refused(context, monkeypatch):
    speed, _ = probe_until_stopped(context, monkeypatch)
    started = time.monotonic()
    train = make_local_handler(context, speed)
    visitor = types.SimpleNamespace(session_hash="starts-while-the-probe-runs")
    said = [
        out[0] for out in train("a face with freckles", "probe", "colour", 2, None, 0.0, visitor, lambda *a, **k: None)
    ]
    assert "Stopping this machine's speed measurement" in said[0]
    assert time.monotonic() - started < 30, "the probe stopped at once, not after its minute"
    assert "is ready" in said[-1], said[-1]
    assert not speed.holds_slot and speed.by is not None, "the visitor's run timed the steps"
    assert "your last training here" in speed.text(10, jobs_offered=False, visitor=speed.by)
    assert context.training_slots.acquire(blocking=False), "the slot is free again"
    context.training_slots.release()


def test_a_probe_stopped_for_a_visitor_waits_for_the_slot_then_measures_again(context, monkeypatch):
    speed, calls = probe_until_stopped(context, monkeypatch)
    with speed.held_off(timeout=30):
        assert not speed.holds_slot, "stopped and waited for"
        speed.start()  # the Train tab's timer ticks while the visitor's training waits for the slot
        deadline = time.monotonic() + 60
        while speed._started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(calls) == 1, "no probe took the slot meanwhile"
        assert context.training_slots.acquire(blocking=False), "the visitor's training gets it"
        context.training_slots.release()
    assert speed.seconds is None and speed.error is None, "the stop is not an error"
    speed.start()  # a later tick, no visitor waiting
    deadline = time.monotonic() + 60
    while speed.seconds is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert speed.seconds == 2.0 and len(calls) == 2
    assert not calls[1].is_set(), "the first stop does not stop the next probe"


def test_a_timing_stopped_before_it_could_time_two_steps_raises(context):
    session = context.session
    context.ensure_models(training_view.TRAIN_MODELS)
    config = training_view.PRESETS[training_view.PROBE_PRESET].recipe.config_for(session.generator, "a face")
    stop = threading.Event()
    stop.set()
    with pytest.raises(FeatError, match="before two steps"):
        training_view.measure_seconds_per_step(
            session.generator, session.clip, session.arcface, config, training_view.TrainingSettings(), stop=stop
        )


def test_on_a_gpu_the_estimate_comes_from_the_first_training(context, monkeypatch):
    monkeypatch.setattr(LocalSpeed, "on_gpu", property(lambda self: True))
    speed = LocalSpeed(context)
    speed.start()
    assert not speed._started and not speed.measuring, "no probe on a GPU"
    said = speed.text(2000, jobs_offered=True)
    assert "Measuring" not in said and "first training here" in said
    speed.record(0.05, "your last training")
    assert "about 2 min" in speed.text(2000, jobs_offered=True)


@pytest.mark.parametrize("on_gpu", [True, False])
def test_the_speed_probe_starts_when_the_train_tab_opens_not_at_page_load(context, monkeypatch, on_gpu):
    monkeypatch.setattr(LocalSpeed, "on_gpu", property(lambda self: on_gpu))
    demo = build_app(context=context)
    timer = next(b for b in demo.blocks.values() if isinstance(b, gr.Timer))
    assert timer.active is False, "no timer ticks (and no probe runs) in a page that never opens the Train tab"
    opened = api_fn(demo, "open_train_tab")
    estimate, timer = opened(10, types.SimpleNamespace(session_hash="opens-the-tab"))
    assert timer.active is (not on_gpu) and "Training here runs on" in estimate


@pytest.mark.parametrize(("on_gpu", "default"), [(True, HERE), (False, ON_JOBS)])
def test_gpu_hardware_trains_here_by_default_cpu_hardware_on_jobs(context, monkeypatch, on_gpu, default):
    on_a_space_with_sign_in(monkeypatch)
    monkeypatch.setattr(LocalSpeed, "on_gpu", property(lambda self: on_gpu))
    demo = build_app(context=context)
    where = next(b for b in demo.blocks.values() if isinstance(b, gr.Radio) and b.label == "Where to train")
    buttons = {b.value: b.visible for b in demo.blocks.values() if isinstance(b, gr.Button)}
    assert where.value == default
    assert buttons["Start training"] is on_gpu and buttons["Start on Hugging Face Jobs"] is not on_gpu


def test_the_form_keeps_a_hand_picked_preset_and_the_threshold(context):
    assert suggested_region("a man with a beard", "face features", chosen_by_hand=False) == "lower face"
    assert suggested_region("a man with a beard", "hair", chosen_by_hand=True) == "hair", "the visitor's choice wins"
    assert "Suggested for this prompt: **lower face**" in preset_help("hair", "a man with a beard")
    entry = training_entry(context, "a man with a beard", "", "hair", 30, None, 0.25)
    assert (entry.region, entry.training.steps, entry.defaults.mask_threshold) == ("hair", 30, 0.25)
    with pytest.raises(FeatError, match="threshold"):
        training_entry(context, "a man with a beard", "", "hair", 30, None, 1.0)


def test_every_page_gets_the_current_estimate_and_only_the_trainer_reads_your(context):
    speed = LocalSpeed(context)
    demo = build_app(context=context)
    estimate = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "train-estimate")
    loads = [fn for fn in demo.fns.values() if ("load" in [t[1] for t in fn.targets]) and estimate in fn.outputs]
    assert loads, "computed when each page opens, not when the app is built"
    trainer, other = object(), object()
    speed.record(0.3, "training here, 5 steps", by=trainer)
    assert "about 0.3 s** for 1 step (" in speed.text(1, jobs_offered=False), "not 'about 0 s for 1 steps'"
    assert "measured: your last training here, 5 steps" in speed.text(10, jobs_offered=False, visitor=trainer)
    assert "measured: the last training here, 5 steps" in speed.text(10, jobs_offered=False, visitor=other)
    assert "your last" not in speed.text(10, jobs_offered=False), "a page that trained nothing"


def test_a_new_edit_is_named_by_its_prompt_s_words_not_the_whole_prompt(context):
    assert default_name("a face with a big smile") == "Big smile"
    assert default_name("A photo of a person wearing round glasses and a red hat") == "Round glasses"
    assert default_name("blond hair") == "Blond hair"
    entry = training_entry(context, "a face with freckles", "", "colour", 3, None)
    assert (entry.name, entry.title) == ("freckles", "Freckles")
    assert training_entry(context, "a face with freckles", "Spots", "colour", 3, None).name == "spots"


def test_start_and_export_problems_show_as_text_beside_their_buttons(context):
    visitor = types.SimpleNamespace(session_hash="presses-start-with-no-prompt")
    demo = build_app(context=context)
    train, export = api_fn(demo, "train"), api_fn(demo, "export_yaml")
    (said, *rest), *more = list(train("", "", "colour", 3, None, 0.0, visitor, lambda *a, **k: None))
    assert not more and said.startswith("⚠️ Write a prompt first")
    assert all(isinstance(out, type(gr.skip())) for out in rest), "plots, previews and lists are left as they are"
    *files, status = export(None, 0.2, visitor)
    assert status.startswith("⚠️ Train an edit first") and all(isinstance(f, type(gr.skip())) for f in files)


def test_a_registry_edit_keeps_its_own_recipe(context):
    from feat_space.ui.training_form import recipe_label

    smile = context.registry["smile"]
    entry = training_entry(context, smile.prompt, None, recipe_label(smile), 10, "smile", 0.2)
    assert entry.recipe == smile.recipe and entry.name == "smile" and entry.defaults.mask_threshold == 0.2
    assert suggested_region(smile.prompt, recipe_label(smile), chosen_by_hand=False) == recipe_label(smile)
