"""ZeroGPU: the handlers that run models go through `spaces.GPU`, the models are placed on the device
at start-up (before the app serves), and with the real `spaces` package installed (off ZeroGPU its
decorator passes the function through) the app starts and edits.

ZeroGPU itself cannot run here: `FakeSpaces` stands in for the package as it behaves there (it wraps
each decorated handler, keeping generator handlers generators, as spaces' own wrappers do).
"""

from __future__ import annotations

import functools
import inspect

import gradio as gr
import pytest
from gradio_client import Client, handle_file
from PIL import Image
from ports import free_port

import feat_space.ui.app as ui_app
from feat_space.hosting import spaces as ui_spaces
from feat_space.registry.registry import load_registry
from feat_space.session import Session, set_session
from feat_space.ui import build_app
from feat_space.ui.context import GPU, AppContext, Limits
from feat_space.ui.edit_tab import EXAMPLES

ASTRONAUT = next(p for p in EXAMPLES if "astronaut" in p)
FAST_EDIT = "registry:purple-hair"  # blends the final RGB: the cheapest edit to run on a CPU
LIMITS = Limits(gpu_slots=2, queue_size=16, trainings=1, max_steps=50)
ALL_MODELS = ("generator", "encoder", "arcface", "clip")


class FakeSpaces:
    """`spaces` as on ZeroGPU: `GPU(duration=...)` wraps the function and counts calls through it."""

    def __init__(self) -> None:
        self.durations: dict[str, int | None] = {}
        self.calls: list[str] = []

    def GPU(self, task=None, *, duration=None, size=None):  # the package's name
        def decorate(fn):
            if inspect.isgeneratorfunction(fn):  # spaces has a generator wrapper for these (Gradio streams them)

                @functools.wraps(fn)
                def wrapper(*args, **kwargs):
                    self.calls.append(fn.__name__)
                    yield from fn(*args, **kwargs)

            else:

                @functools.wraps(fn)
                def wrapper(*args, **kwargs):
                    self.calls.append(fn.__name__)
                    return fn(*args, **kwargs)

            wrapper.zerogpu_duration = duration
            self.durations[fn.__name__] = duration
            return wrapper

        return decorate if task is None else decorate(task)


@pytest.fixture
def serve():
    """Launch a built app on 127.0.0.1; closed after the test."""
    demos = []

    def start(demo: gr.Blocks) -> str:
        _, url, _ = demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
        demos.append(demo)
        return url

    yield start
    for demo in demos:
        demo.close()


def edit(url: str, edits: list[str]):
    client = Client(url, verbose=False)
    return client.predict(photo=handle_file(ASTRONAUT), edits=edits, threshold=0.3, api_name="/edit")


def test_handlers_that_run_models_are_decorated_and_work_through_the_decorator(monkeypatch, serve, tiny_session):
    fake = FakeSpaces()
    monkeypatch.setattr(ui_spaces, "_spaces", fake)
    demo = build_app(context=AppContext(tiny_session, load_registry(), LIMITS))
    fns = {fn.api_name: fn for fn in demo.fns.values()}
    decorated = {name: fn.fn.zerogpu_duration for name, fn in fns.items() if hasattr(fn.fn, "zerogpu_duration")}
    public = {name for name, fn in fns.items() if fn.api_visibility != "private"}  # callable by a client
    expected = {"prepare": 60, "edit": 60, "train": 300, "edit_video": 120}
    assert {name: decorated[name] for name in public & set(decorated)} == expected
    # Exactly the handlers in the GPU concurrency group (the ones that run models) are decorated, the
    # page's own events (prepare on upload, edit, live previews) included.
    assert {name for name, fn in fns.items() if fn.concurrency_id == GPU} == set(decorated)
    assert inspect.isgeneratorfunction(fns["train"].fn), "training still streams its progress"

    url = serve(demo)
    result, *_, info = edit(url, [FAST_EDIT])
    assert Image.open(result).size == Image.open(ASTRONAUT).size and "Purple hair" in info
    job = Client(url, verbose=False).submit("a face with freckles", "Freckles", "colour", 2, 0.0, api_name="/train")
    updates = list(job)
    assert "is ready" in updates[-1][0] and len(updates) >= 2
    assert fake.calls.count("edit") == 1 and fake.calls.count("train") == 1


@pytest.fixture
def process_session():
    """A fresh tiny session as the process's (what get_session() returns), unset after the test."""
    session = Session("tiny", device="cpu")
    set_session(session)
    yield session
    set_session(None)


def test_on_zero_gpu_launch_places_every_model_before_serving(monkeypatch, process_session):
    session = process_session
    events: list = []
    real_load = session.load

    def load(names=ALL_MODELS):
        events.append(("load", tuple(names)))
        real_load(names)

    monkeypatch.setattr(session, "load", load)
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kwargs: events.append("launch"))

    monkeypatch.setattr(ui_spaces, "zero_gpu_active", lambda: False)
    ui_app.launch()
    assert events == ["launch"], "off ZeroGPU the models load on first use (fast start)"

    events.clear()
    monkeypatch.setattr(ui_spaces, "zero_gpu_active", lambda: True)
    ui_app.launch()
    assert events == [("load", ALL_MODELS), "launch"]
    for name in ("generator", "encoder", "arcface"):
        model = getattr(session, name)
        assert all(p.device == session.device for p in model.parameters())


def test_zero_gpu_is_detected_from_the_package_and_its_setting(monkeypatch):
    monkeypatch.setattr(ui_spaces, "_spaces", None)
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    assert not ui_spaces.zero_gpu_available() and not ui_spaces.zero_gpu_active()
    monkeypatch.setattr(ui_spaces, "_spaces", FakeSpaces())  # no `config`: the environment decides
    assert ui_spaces.zero_gpu_available() and ui_spaces.zero_gpu_active()
    monkeypatch.setenv("SPACES_ZERO_GPU", "false")
    assert not ui_spaces.zero_gpu_active()


def test_with_the_spaces_package_installed_the_app_starts_and_edits(serve, tiny_session):
    spaces = pytest.importorskip("spaces", reason="the `spaces` package is not installed (requirements-dev.txt)")
    assert ui_spaces._spaces is spaces, "gpu() goes through the real spaces.GPU"
    assert not ui_spaces.zero_gpu_active(), "this machine is not ZeroGPU"

    def handler():
        return "ok"

    assert spaces.GPU(duration=60)(handler) is handler, "off ZeroGPU spaces.GPU passes the function through"
    demo = build_app(context=AppContext(tiny_session, load_registry(), LIMITS))
    result, *_, info = edit(serve(demo), [FAST_EDIT, "registry:red-lipstick"])
    assert Image.open(result).size == Image.open(ASTRONAUT).size
    assert "Purple hair 1, Red lipstick" in info and "UNTRAINED" in info
