"""No visitor's file outlives the app: `python app.py` is stopped by SIGTERM (a Space restart, `docker
stop`) or SIGINT (Ctrl-C) after a visitor uploaded, edited and trained, and nothing they caused stays on
disk. And while it runs, old files are swept (`visitor_files.sweep`)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
from gradio_client import Client, handle_file
from ports import free_port

from feat_space.hosting import visitor_files
from feat_space.ui.app import build_app
from feat_space.ui.edit_tab import EXAMPLES

ROOT = Path(__file__).resolve().parent.parent
ASTRONAUT = next(p for p in EXAMPLES if "astronaut" in p)
FAST_EDIT = "registry:purple-hair"


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def hold_open(url: str) -> None:
    """A visitor's page: a stream the server keeps open until it stops."""
    with contextlib.suppress(OSError), urllib.request.urlopen(url) as response:
        while response.read(1):
            pass


def start_app(tmp_path: Path) -> tuple[subprocess.Popen, str, dict[str, Path]]:
    port = free_port()
    where = {"gradio": tmp_path / "gradio", "tmp": tmp_path / "tmp", "cache": tmp_path / "cache"}
    where["tmp"].mkdir()
    env = {
        **os.environ,
        "FEAT_PROFILE": "tiny",
        "HF_HUB_OFFLINE": "1",
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "GRADIO_TEMP_DIR": str(where["gradio"]),
        "TMPDIR": str(where["tmp"]),  # the app's visitor folders are temporary folders
        "FEAT_CACHE": str(where["cache"]),
    }
    process = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # A shell's background job inherits SIGINT ignored (e.g. CI started with `&`), and Python then
        # keeps ignoring it: give the app the default, as in a terminal.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(url + "config", timeout=2):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"app.py did not serve: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            time.sleep(0.5)
    return process, url, where


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stopping_the_app_removes_every_visitor_file(tmp_path, stop):
    process, url, where = start_app(tmp_path)
    try:
        client = Client(url, verbose=False, download_files=str(tmp_path / "client"))
        client.predict(photo=handle_file(ASTRONAUT), edits=[FAST_EDIT], threshold=0.3, api_name="/edit")
        if stop == signal.SIGTERM:  # an unsaved trained edit and its export, too
            client.submit("a face with freckles", "Freckles", "colour", 1, 0.5, api_name="/train").result()
            client.predict("user:freckles", 0.5, api_name="/export_yaml")
        visitor_dirs = list(where["tmp"].glob("feat-space-visitors-*"))
        assert len(visitor_dirs) == 1 and files_under(visitor_dirs[0]), "the visitor's download is on disk"
        uploads = files_under(where["gradio"])
        assert all("feat-space-gradio-" in str(p) for p in uploads), "in a folder of the app's own"
        assert any(p.name == Path(ASTRONAUT).name for p in uploads), "Gradio kept the upload"
        assert any(p.suffix == ".png" and p.name != Path(ASTRONAUT).name for p in uploads), "and the result"
        if stop == signal.SIGTERM:
            assert any(p.name == "model.safetensors" for p in files_under(visitor_dirs[0]))

        # Visitors connected: open pages hold heartbeat streams, and one is training (its stream open).
        for page in ("page-1", "page-2"):
            threading.Thread(target=hold_open, args=(f"{url}gradio_api/heartbeat/{page}",), daemon=True).start()
        training = client.submit("a face with a big smile", "", "colour", 2000, 0.0, api_name="/train")
        deadline = time.monotonic() + 60
        while not any(p.name.startswith("big-smile") for p in visitor_dirs[0].rglob("*")):
            assert time.monotonic() < deadline and not training.done(), "the training did not start"
            time.sleep(0.2)

        stopped = time.monotonic()
        process.send_signal(stop)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"app.py did not stop within 30 s of {stop.name}")
        took = time.monotonic() - stopped
        assert process.returncode == 0, process.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
        assert took < 5, f"{stop.name} with visitors connected took {took:.1f} s (a container runtime kills at 10 s)"
        assert files_under(where["gradio"]) == [], "Gradio's uploads and results are gone"
        assert not list(where["gradio"].glob("feat-space-gradio-*")), "and the app's folder in it"
        assert not visitor_dirs[0].exists(), "the visitors' folders are gone"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_the_sweep_removes_old_files_but_not_trained_edits(tmp_path):
    visitor = tmp_path / "v-abc"
    old_download = visitor / "downloads" / "old-edited.png"
    new_download = visitor / "downloads" / "new-edited.png"
    old_export = visitor / "exports" / "smile" / "smile.zip"
    trained = visitor / "edits" / "smile-1234" / "model.safetensors"
    for path in (old_download, new_download, old_export, trained):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    long_ago = time.time() - visitor_files.RETENTION.max_age_s - 60
    for path in (old_download, old_export, trained):
        os.utime(path, (long_ago, long_ago))

    assert visitor_files.sweep([tmp_path]) == 2
    assert not old_download.exists() and not old_export.exists() and not old_export.parent.exists()
    assert new_download.exists(), "a recent result stays"
    assert trained.exists(), "a trained edit lasts for its tab's session, whatever its age"
    assert visitor.is_dir()


def test_while_serving_old_files_are_swept_and_all_go_at_the_end(tmp_path, monkeypatch):
    monkeypatch.setattr(visitor_files, "RETENTION", visitor_files.Retention(sweep_every_s=1, max_age_s=600))
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    visitors = tmp_path / "visitors"
    old_download = visitors / "v-1" / "downloads" / "old.png"
    new_download = visitors / "v-1" / "downloads" / "new.png"
    visitor_files.remove_at_shutdown(visitors)

    def write(path: Path, age_s: float = 0) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        os.utime(path, (time.time() - age_s, time.time() - age_s))
        return path

    write(old_download, 3600)
    write(new_download)
    demo = SimpleNamespace(blocks={1: SimpleNamespace(keep_in_cache=set())}, close=lambda verbose: None)
    with visitor_files.removed_on_shutdown() as serving:
        serving(demo)
        private = Path(os.environ["GRADIO_TEMP_DIR"])
        assert private.parent == tmp_path / "gradio", "a folder of the app's own, inside the configured one"
        old_result = write(private / "a1" / "image.png", 3600)  # a PIL result Gradio does not track
        new_result = write(private / "b2" / "image.png")
        example = write(private / "c3" / "example.jpg", 3600)
        demo.blocks[1].keep_in_cache.add(str(example))  # served for the whole run
        deadline = time.monotonic() + 10
        while (old_download.exists() or old_result.exists()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not old_download.exists() and not old_result.exists(), "swept once older than the retention"
        assert new_download.exists() and new_result.exists() and example.exists()
    assert not private.exists() and not visitors.exists(), "everything goes when serving ends"
    assert os.environ["GRADIO_TEMP_DIR"] == str(tmp_path / "gradio"), "the setting is given back"


def test_the_app_s_gradio_cache_follows_the_retention(tiny_session):
    demo = build_app(tiny_session)
    assert demo.delete_cache == (visitor_files.RETENTION.sweep_every_s, visitor_files.RETENTION.max_age_s)
    assert visitor_files.RETENTION.max_age_s == 6 * 3600, "the README promises 6 hours"
