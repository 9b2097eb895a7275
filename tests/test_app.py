"""The Gradio app in the tiny profile, launched in-process on 127.0.0.1 and driven through its API.

One server for the module (launching costs seconds); each test uses its own `Client`, i.e. its own
browser session, as separate visitors would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import yaml
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image
from ports import free_port

from feat_space.registry.registry import load_registry
from feat_space.registry.schema import EditEntry
from feat_space.ui import build_app
from feat_space.ui.context import GPU, AppContext, Limits
from feat_space.ui.edit_tab import EXAMPLES
from feat_space.ui.training_view import LOSS_PANELS

ROOT = Path(__file__).resolve().parent.parent
ASTRONAUT = next(p for p in EXAMPLES if "astronaut" in p)
HOPPER = next(p for p in EXAMPLES if "grace_hopper" in p)
FAST_EDIT = "registry:purple-hair"  # blends the final RGB: the cheapest edit to run on a CPU
LIMITS = Limits(gpu_slots=2, queue_size=16, trainings=1, max_steps=50)

# The Train tab's streamed outputs: feedback, one plot per loss panel, preview, mask, edit list, ...
PREVIEW = 1 + len(LOSS_PANELS)
CHOICES = PREVIEW + 2


@pytest.fixture(scope="module")
def context(tiny_session) -> AppContext:
    return AppContext(tiny_session, load_registry(), LIMITS)


@pytest.fixture(scope="module")
def app(context):
    demo = build_app(context=context)
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield demo, url
    finally:
        demo.close()


def connect(url: str) -> Client:
    return Client(url, verbose=False)


def edit(
    client: Client, photo: str, edits: list[str], strengths=None, threshold: float | None = 0.3, face: int = 0, **brush
):
    return client.predict(
        photo=handle_file(photo),
        edits=edits,
        strengths=strengths,
        threshold=threshold,
        face_index=face,
        api_name="/edit",
        **brush,
    )


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def test_edit_an_example_photo_then_again_from_the_cache(app):
    client = connect(app[1])
    result, mask, info = edit(client, ASTRONAUT, [FAST_EDIT])
    photo = Image.open(ASTRONAUT)
    edited = Image.open(result)
    assert edited.size == photo.size and result.endswith(".png"), "the whole photo comes back, at its own size, PNG"
    assert not np.array_equal(pixels(result), pixels(ASTRONAUT))
    assert Image.open(mask).mode in ("L", "RGB", "RGBA") and Image.open(mask).size == (512, 512)
    assert "UNTRAINED" in info, "the tiny profile's notice is shown with every result"
    assert "Purple hair 1" in info and "mask threshold 0.3" in info

    # Two edits at once, each with its own strength; the photo's alignment and inversion come from the cache.
    *_, info = edit(
        client, ASTRONAUT, [FAST_EDIT, "registry:red-lipstick"], {FAST_EDIT: 0.5, "registry:red-lipstick": 2}
    )
    assert "Purple hair 0.5, Red lipstick 2" in info


def test_each_edit_has_its_own_strength_and_a_missing_one_is_the_edit_s_default(app):
    client = connect(app[1])
    lipstick = "registry:red-lipstick"
    default = next(item for item in client.predict(api_name="/edits") if item["value"] == lipstick)["strength"]
    *_, info = edit(client, HOPPER, [FAST_EDIT, lipstick], {FAST_EDIT: -1.5})
    assert f"Purple hair -1.5, Red lipstick {default:g}" in info
    weak, *_ = edit(client, HOPPER, [FAST_EDIT], {FAST_EDIT: 0.5})
    strong, *_ = edit(client, HOPPER, [FAST_EDIT], {FAST_EDIT: 2.0})
    assert not np.array_equal(pixels(weak), pixels(strong)), "different strengths, different pictures"
    with pytest.raises(AppError, match="strengths names registry:smile, which is not among the chosen edits"):
        edit(client, HOPPER, [FAST_EDIT], {"registry:smile": 1.0})
    with pytest.raises(AppError, match="The strength of registry:purple-hair must be a number"):
        edit(client, HOPPER, [FAST_EDIT], {FAST_EDIT: "lots"})


def test_threshold_defaults_to_the_first_edit_s_own(app):
    *_, info = edit(connect(app[1]), HOPPER, [FAST_EDIT], threshold=None)
    assert "mask threshold 0.3" in info  # purple-hair.yaml: mask_threshold 0.3


def test_prepare_returns_the_aligned_face_and_its_reconstruction(app):
    aligned, reconstruction, info = connect(app[1]).predict(photo=handle_file(HOPPER), api_name="/prepare")
    assert Image.open(aligned).size == Image.open(reconstruction).size == (512, 512)
    assert "Face 0 found" in info
    assert "renders this face only roughly" in info, "random weights reconstruct nothing: the visitor is told"


def test_the_brush_restricts_and_extends_the_mask_through_the_api(app, tmp_path):
    client = connect(app[1])
    _, full_mask, _ = edit(client, HOPPER, [FAST_EDIT], threshold=0.0)
    left = np.zeros((512, 512), np.uint8)
    left[:, :256] = 255
    Image.fromarray(left).save(tmp_path / "left.png")
    corner = np.zeros((512, 512), np.uint8)
    corner[400:, 400:] = 255
    Image.fromarray(corner).save(tmp_path / "corner.png")

    _, restricted, info = edit(client, HOPPER, [FAST_EDIT], threshold=0.0, restrict=handle_file(tmp_path / "left.png"))
    restricted = np.asarray(Image.open(restricted).convert("L"))
    assert "brush" in info
    assert restricted[:, 272:].max() == 0, "nothing outside the restrict brush"
    assert np.array_equal(restricted[:, :240] > 0, np.asarray(Image.open(full_mask).convert("L"))[:, :240] > 0)

    _, extended, _ = edit(client, HOPPER, [FAST_EDIT], threshold=0.9, extend=handle_file(tmp_path / "corner.png"))
    extended = np.asarray(Image.open(extended).convert("L"))
    assert extended[416:, 416:].min() == 255, "the extend brush is always edited"


def test_the_edits_listing_marks_untrained_edits(app):
    listing = connect(app[1]).predict(api_name="/edits")
    names = {item["value"] for item in listing}
    assert {"registry:smile", "registry:purple-hair"} <= names
    assert all(item["status"] == "untrained demo" and item["usable"] for item in listing)
    purple = next(item for item in listing if item["value"] == FAST_EDIT)
    assert (purple["strength"], purple["threshold"]) == (1.0, 0.3)


def test_a_photo_without_a_face_gets_a_clear_error_and_the_app_keeps_working(app, tmp_path):
    client = connect(app[1])
    blank = tmp_path / "wall.png"
    gradient = np.linspace(0, 255, 256, dtype=np.uint8)
    Image.fromarray(np.stack([np.tile(gradient, (256, 1))] * 3, axis=-1)).save(blank)
    with pytest.raises(AppError, match="No face was found in the photo"):
        edit(client, str(blank), [FAST_EDIT])
    with pytest.raises(AppError, match="No face was found in the photo"):
        client.predict(photo=handle_file(blank), api_name="/prepare")
    result, *_ = edit(client, HOPPER, [FAST_EDIT])  # the same visitor carries on
    assert Image.open(result).size == Image.open(HOPPER).size


def test_a_file_that_is_not_an_image_gets_a_clear_error(app, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("this is not a photo")
    with pytest.raises(AppError, match=r"Could not read 'notes.txt': it is not an image.*Choose a photo file"):
        edit(connect(app[1]), str(notes), [FAST_EDIT])


def test_missing_inputs_say_what_to_do(app, tmp_path):
    client = connect(app[1])
    with pytest.raises(AppError, match="Pick at least one edit"):
        edit(client, ASTRONAUT, [])
    with pytest.raises(AppError, match="Add a photo first"):
        client.predict(photo=None, edits=[FAST_EDIT], api_name="/edit")
    with pytest.raises(AppError, match="There is no edit called 'nope'"):
        edit(client, ASTRONAUT, ["registry:nope"])
    with pytest.raises(AppError, match="The face number counts from 0"):
        edit(client, ASTRONAUT, [FAST_EDIT], face=-1)
    (tmp_path / "brush.txt").write_text("not a mask")
    with pytest.raises(AppError, match="Could not read the restrict mask"):
        edit(client, ASTRONAUT, [FAST_EDIT], restrict=handle_file(tmp_path / "brush.txt"))


MALFORMED = [  # (what the client sends to /edit, what the message must say)
    ({"threshold": "abc"}, r"threshold must be a number .*got 'abc'"),
    ({"threshold": [0.2]}, r"threshold must be a number .*got \[0\.2\]"),
    ({"face_index": "x"}, r"face number counts from 0 .*whole number.*got 'x'"),
    ({"face_index": "NaN"}, r"face number counts from 0 .*got 'NaN'"),
    ({"face_index": "Infinity"}, r"face number counts from 0 .*got 'Infinity'"),
    ({"face_index": 1.7}, r"face number counts from 0 .*whole number.*got 1\.7"),
    ({"edits": [3]}, r"edits must be a list of edit values from /edits .*got \[3\]"),
    ({"strengths": [1.0]}, r"strengths must be a mapping \{edit value: strength\}.*got \[1\.0\]"),
    ({"strengths": {FAST_EDIT: "Infinity"}}, r"The strength of registry:purple-hair must be a number, got 'Infinity'"),
]


@pytest.mark.parametrize(
    ("sent", "said"), MALFORMED, ids=[next(iter(sent)) + repr(v) for sent, _ in MALFORMED for v in sent.values()]
)
def test_malformed_api_input_gets_a_clear_message(app, sent, said):
    inputs = {"photo": handle_file(HOPPER), "edits": [FAST_EDIT], "threshold": 0.3, "face_index": 0, **sent}
    with pytest.raises(AppError, match=said) as raised:
        connect(app[1]).predict(**inputs, api_name="/edit")
    assert "went wrong on our side" not in str(raised.value)


def test_json_nan_and_infinity_are_refused_by_name(app):
    """gradio_client cannot send NaN (Python's json can): a raw call, as another client would make."""
    for literal in ("NaN", "Infinity", "-Infinity"):
        photo = json.dumps({"path": HOPPER, "meta": {"_type": "gradio.FileData"}})
        body = f'{{"data": [{photo}, ["{FAST_EDIT}"], null, 0.3, {literal}, null, null]}}'
        request = urllib.request.Request(
            app[1] + "gradio_api/call/edit", body.encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request) as response:
            event = json.load(response)["event_id"]
        with urllib.request.urlopen(f"{app[1]}gradio_api/call/edit/{event}") as response:
            stream = response.read().decode()
        assert "event: error" in stream and "face number counts from 0" in stream, stream[-400:]


def test_one_edit_as_a_string_is_that_edit_not_its_letters(app):
    *_, info = edit(connect(app[1]), HOPPER, FAST_EDIT)  # type: ignore[arg-type]
    assert "Purple hair 1" in info


def test_prepare_refuses_a_face_number_it_would_have_to_round(app):
    with pytest.raises(AppError, match=r"face number counts from 0 .*got 1\.7"):
        connect(app[1]).predict(photo=handle_file(HOPPER), face_index=1.7, api_name="/prepare")


def test_a_mask_that_is_not_an_image_names_no_server_path(app, tmp_path):
    (tmp_path / "brush.txt").write_text("not a mask")
    with pytest.raises(AppError, match=r"Could not read the restrict mask \(brush.txt\): it is not an image") as raised:
        edit(connect(app[1]), HOPPER, [FAST_EDIT], restrict=handle_file(tmp_path / "brush.txt"))
    assert "/" not in str(raised.value).split("mask (", 1)[1], "no path of the server's in the message"


def test_the_api_page_examples_run_as_printed(app, capsys):
    """What "Use via API" shows for each Edit-tab endpoint, executed verbatim."""
    with urllib.request.urlopen(app[1] + "gradio_api/info") as response:
        endpoints = json.load(response)["named_endpoints"]
    for name in ("/prepare", "/edit", "/edits"):
        code = endpoints[name]["code_snippets"]["python"]
        exec(compile(code, f"api page {name}", "exec"), {})
        printed = capsys.readouterr().out
        assert printed.strip(), f"{name} printed nothing"
    assert "grace_hopper" in endpoints["/edit"]["code_snippets"]["python"], "the example photo is a face"
    assert set(endpoints) == {"/prepare", "/edit", "/edits"}, "the page's own events are not listed"
    examples = {p["parameter_name"]: p["example_input"] for p in endpoints["/edit"]["parameters"]}
    (edit_value,) = examples["edits"]
    assert examples["strengths"] == {edit_value: 1.0} and examples["restrict"] is None, examples
    # The parameters' own examples, not only the defaults the snippet prints, run too.
    client = connect(app[1])
    *_, info = client.predict(
        **{**examples, "photo": handle_file(HOPPER), "edits": [FAST_EDIT], "strengths": {FAST_EDIT: 1.0}},
        api_name="/edit",
    )
    assert f"mask threshold {examples['threshold']:g}" in info


def test_the_readme_api_example_runs(app):
    readme = (ROOT / "README.md").read_text()
    code = readme.split("Through the API (gradio_client):", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    assert 'Client("http://127.0.0.1:7860")' in code and '"me.jpg"' in code
    code = code.replace("http://127.0.0.1:7860", app[1]).replace('"me.jpg"', repr(HOPPER))
    scope: dict = {}
    exec(compile(code, "README", "exec"), scope)
    assert Image.open(scope["photo"]).size == Image.open(HOPPER).size


def test_training_streams_progress_and_the_edit_is_usable_at_once(app):
    client = connect(app[1])
    job = client.submit("a face with freckles", "Freckles", "colour", 3, 0.2, api_name="/train")
    updates = list(job)
    statuses = [u[0] for u in updates]
    assert len(updates) >= 3, "progress is streamed, not only the end"
    assert any("step **1/3**" in s for s in statuses) and any("step **3/3**" in s for s in statuses)
    assert not any("UNTRAINED" in s for s in statuses), "the page says it once, at its top"
    panels = updates[-1][1:PREVIEW]  # one loss panel per term: total, clip, l2, id, change, hidden, area, tv
    assert all(isinstance(p, dict) and len(p["data"]) == 3 for p in panels), "every term has its own readable panel"
    assert any(isinstance(u[PREVIEW], str) and Path(u[PREVIEW]).is_file() for u in updates), "a preview image is shown"
    final = updates[-1]
    assert "is ready" in final[0]
    assert ["★ Freckles · colour (yours)", "user:freckles"] in final[CHOICES]["choices"], "in this visitor's edits"

    result, *_, info = edit(client, HOPPER, ["user:freckles", FAST_EDIT])
    assert "Freckles 1, Purple hair 1" in info and Image.open(result).size == Image.open(HOPPER).size
    listing = client.predict(api_name="/edits")
    assert {"value": "user:freckles", "status": "yours"}.items() <= next(
        item for item in listing if item["value"] == "user:freckles"
    ).items()

    # Another visitor does not see it.
    with pytest.raises(AppError, match="not among this tab's edits"):
        edit(connect(app[1]), HOPPER, ["user:freckles"])

    code, yaml_file, weights, status = client.predict("user:freckles", 0.35, api_name="/export_yaml")
    data = yaml.safe_load(code["value"])
    entry = EditEntry.model_validate(data)
    assert entry.name == "freckles" and entry.prompt == "a face with freckles" and entry.training.steps == 3
    assert data["training"] == {"steps": 3} and data["defaults"] == {"mask_threshold": 0.35}, "only non-defaults"
    assert not entry.published and Path(yaml_file["value"]).read_text().strip() == code["value"].strip()
    assert Path(weights["value"]).suffix == ".zip" and not status


def test_stop_ends_training_early_and_keeps_the_edit(app):
    client = connect(app[1])
    job = client.submit("a face with a big smile", "", "small colour", 40, 0.0, api_name="/train")
    for update in job:
        if "step **" in update[0]:
            break
    assert "Stopping" in client.predict(api_name="/stop_training")
    final = job.result()
    assert "Stopped at step" in final[0] and "of 40" in final[0]
    assert any(value == "user:big-smile" for _, value in final[CHOICES]["choices"]), "named by the prompt's own words"
    code, *_ = client.predict("user:big-smile", 0.0, api_name="/export_yaml")
    steps = yaml.safe_load(code["value"])["training"]["steps"]
    assert 1 <= steps < 40 and f"Stopped at step {steps} " in final[0], "the YAML has the steps actually trained"


def test_four_concurrent_visitors_each_get_their_own_result(app):
    jobs = [(ASTRONAUT, 0.5), (HOPPER, 1.0), (ASTRONAUT, 2.0), (HOPPER, -1.0)]
    clients = [connect(app[1]) for _ in jobs]

    def run(i):
        photo, strength = jobs[i]
        return edit(clients[i], photo, [FAST_EDIT], {FAST_EDIT: strength})

    with ThreadPoolExecutor(len(jobs)) as pool:
        results = list(pool.map(run, range(len(jobs))))
    for (photo, strength), (result, _, info) in zip(jobs, results, strict=True):
        assert Image.open(result).size == Image.open(photo).size
        assert f"Purple hair {strength:g}" in info
    a, b = (np.asarray(Image.open(results[i][0])) for i in (0, 2))
    assert not np.array_equal(a, b), "different strengths, different pictures"


def test_queue_limits_gpu_work_together(app):
    demo = app[0]
    assert demo._queue.max_size == LIMITS.queue_size
    named = ("prepare", "edit", "train")
    groups = {fn.api_name: fn.concurrency_id for fn in demo.fns.values() if fn.api_name in named}
    assert groups == dict.fromkeys(named, GPU)
    limits = {fn.concurrency_limit for fn in demo.fns.values() if fn.concurrency_id == GPU}
    assert limits == {LIMITS.gpu_slots}


def test_app_py_runs_offline_in_the_tiny_profile_on_gradio_s_address(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "FEAT_PROFILE": "tiny",
        "HF_HUB_OFFLINE": "1",
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "FEAT_CACHE": str(tmp_path / "cache"),
    }
    process = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=2) as response:
                    config = response.read().decode()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"app.py did not serve on port {port}: {process.stderr.read().decode()[-2000:]}")
                time.sleep(0.5)
        assert "UNTRAINED" in config, "the smoke demo is labelled as untrained"
    finally:
        process.terminate()
        process.wait(timeout=20)
