"""Visitors' files: how long they are kept while the app runs, and that none is left when it stops.

What the app and Gradio write for visitors, and how long each is kept (`RETENTION` is the one home
of these numbers; the README's "Visitors' data" section says the same to people):

- Gradio's copies of uploads, results and downloads (in the app's own folder under
  ``GRADIO_TEMP_DIR``): those older than `Retention.max_age_s` are deleted every
  `Retention.sweep_every_s`, by Gradio (the Blocks' ``delete_cache``, for the files it tracks) and by
  `sweep_gradio_folder` (for the ones it does not: PIL results, streamed previews).
- The app's visitor folders (`ui.state.Visitors`: edited photos offered as downloads, exported edits,
  trained edits not kept in storage): removed when the browser tab closes (``demo.unload``); files in
  them older than `Retention.max_age_s` go with the same hourly sweep (`sweep`), trained edits
  excepted (they last for the tab's session).
- Trained edits kept in persistent storage (`storage`) are the visitor's until they delete them.

When the process stops, by SIGTERM (what a Space restart and ``docker stop`` send), SIGINT (Ctrl-C)
or a normal exit, `removed_on_shutdown` deletes Gradio's private folder for this process (everything
it wrote for visitors) and every visitor folder registered with `remove_at_shutdown`. Python's default
SIGTERM ends the process without running ``atexit`` or ``finally``, which is why it left visitors'
photos on disk: here it is turned into the same orderly stop as Ctrl-C.

Why a private folder: Gradio names a file by its content's hash, so two apps sharing one
``GRADIO_TEMP_DIR`` share identical files, and one app's cleanup would delete the other's (seen in the
tests: an identical edit served by another process got a 403). In its own folder the app can delete
everything, and other apps' files are never touched.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger("feat_space.hosting")


@dataclass(frozen=True)
class Retention:
    """How long visitors' uploads and results are kept while the app runs."""

    sweep_every_s: int = 3600  # how often old files are looked for
    max_age_s: int = 6 * 3600  # a file older than this is deleted at the next sweep

    @property
    def delete_cache(self) -> tuple[int, int]:
        """Gradio's ``Blocks(delete_cache=...)`` for these numbers."""
        return (self.sweep_every_s, self.max_age_s)


RETENTION = Retention()
GRADIO_TEMP_DIR = "GRADIO_TEMP_DIR"  # where Gradio writes uploads and results (its own setting)
T = TypeVar("T")
KEEP_FOR_SESSION = "edits"  # subfolder of a visitor folder whose files last for the tab's session

_folders: set[Path] = set()
_folders_lock = threading.Lock()


def remove_at_shutdown(folder: Path) -> None:
    """Delete ``folder`` (a visitors' folder) when the process stops, whatever stops it."""
    with _folders_lock:
        if not _folders:
            atexit.register(_remove_folders)
        _folders.add(Path(folder))


def _remove_folders() -> None:
    with _folders_lock:
        folders = list(_folders)
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def sweep(folders: list[Path] | None = None, *, max_age_s: float | None = None) -> int:
    """Delete files older than ``max_age_s`` (default: `RETENTION`'s) in the visitor folders, trained edits
    excepted; return how many."""
    max_age_s = RETENTION.max_age_s if max_age_s is None else max_age_s
    with _folders_lock:
        roots = list(_folders) if folders is None else list(folders)

    def session_file(path: Path, root: Path) -> bool:  # <visitor>/edits/...: lasts for the tab's session
        return path.relative_to(root).parts[1:2] == (KEEP_FOR_SESSION,)

    return sum(_sweep_folder(Path(root), time.time() - max_age_s, session_file) for root in roots)


def sweep_gradio_folder(folder: Path, demo: Any, *, max_age_s: float | None = None) -> int:
    """Delete files older than ``max_age_s`` in the app's own Gradio folder, but not the copies Gradio
    serves for the whole run (examples: ``keep_in_cache``). Gradio's ``delete_cache`` only deletes
    the files it tracks, and it does not track PIL results or streamed previews."""
    max_age_s = RETENTION.max_age_s if max_age_s is None else max_age_s
    keep = {str(Path(p).resolve()) for block in demo.blocks.values() for p in getattr(block, "keep_in_cache", ())}
    return _sweep_folder(folder, time.time() - max_age_s, lambda path, _root: str(path.resolve()) in keep)


def _sweep_folder(root: Path, cutoff: float, skip: Callable[[Path, Path], bool]) -> int:
    removed = 0
    for path in sorted(root.rglob("*"), reverse=True):  # files before the folders holding them
        if skip(path, root):
            continue
        with contextlib.suppress(OSError):
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
            elif path.is_dir() and path.parent != root and not any(path.iterdir()):
                path.rmdir()  # an emptied folder inside a visitor's (the visitor's own stays)
    return removed


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
CLOSE_WAIT_S = 2.0  # the longest a stop waits for Gradio's server thread before deleting the files


class Stopped(BaseException):
    """SIGTERM or SIGINT arrived: raised in the main thread, where Gradio's launch() waits.

    Not a KeyboardInterrupt: Gradio catches that one and closes its server itself, waiting up to 5 s
    for the server's thread, and `Blocks.close` waits as long again."""


def _stop(signum: int, _frame: object) -> None:
    raise Stopped(f"stopped by {signal.Signals(signum).name}")


def _close_quickly(demo: Any) -> None:
    """Close a served app without waiting for what a stop cannot wait for.

    `Blocks.close` stops the queue and the visitors' streams, then joins the server's thread for up to
    5 s; that thread ends only after every event under way has returned, e.g. a training step, which
    takes a minute on a CPU with the real models, and Gradio cannot cancel it. The close runs in a
    thread of its own, waited for `CLOSE_WAIT_S`: by then the server accepts nothing new (uvicorn's
    `force_exit`: it does not wait for open connections either), and the process ends soon after."""
    server = getattr(demo, "server", None)
    if server is not None:
        server.force_exit = True
    closing = threading.Thread(target=demo.close, kwargs={"verbose": False}, name="feat-close", daemon=True)
    closing.start()
    closing.join(CLOSE_WAIT_S)


class Serving:
    """What `removed_on_shutdown` yields: call it with the app to serve; `signal` says what stopped it."""

    def __init__(self) -> None:
        self.served: list[Any] = []
        self.signal: str | None = None  # "stopped by SIGTERM" / "... SIGINT" once a signal stopped the app
        self.remove_files: Callable[[], None] = lambda: None  # deletes every visitor file (set while serving)

    def __call__(self, demo: T) -> T:
        self.served.append(demo)
        return demo


@contextlib.contextmanager
def removed_on_shutdown() -> Iterator[Serving]:
    """Serve inside this: on SIGTERM, SIGINT or a normal exit, every visitor's file is deleted.

    Gradio gets a folder of its own for this process (``GRADIO_TEMP_DIR`` is pointed at a fresh
    private folder, inside the configured one if any): Gradio does not track every file it writes (PIL
    results, streamed previews), so only deleting the whole folder leaves nothing behind, and another
    app's files in a shared ``GRADIO_TEMP_DIR`` are never touched. Build the app inside, and pass it to
    the function this yields (it is closed before the files go). SIGTERM is handled like SIGINT (an
    orderly stop) and both stop within seconds with visitors connected (`_close_quickly`); an hourly
    `sweep` of the visitor folders runs meanwhile. Enter in the main thread.
    """
    configured = os.environ.get(GRADIO_TEMP_DIR)
    if configured:
        Path(configured).mkdir(parents=True, exist_ok=True)
    private = Path(tempfile.mkdtemp(prefix="feat-space-gradio-", dir=configured or None))
    os.environ[GRADIO_TEMP_DIR] = str(private)
    serving = Serving()
    served = serving.served

    def remove_files() -> None:
        shutil.rmtree(private, ignore_errors=True)
        _remove_folders()

    serving.remove_files = remove_files

    previous = {signum: signal.signal(signum, _stop) for signum in STOP_SIGNALS}
    stopped = threading.Event()
    sweeper = threading.Thread(target=_sweep_until, args=(stopped, private, served), name="feat-sweep", daemon=True)
    sweeper.start()
    try:
        yield serving
    except (Stopped, KeyboardInterrupt) as stop:
        serving.signal = str(stop)  # the stop asked for: not an error (exit status 0, like Gradio's own Ctrl-C)
    finally:
        stopped.set()
        for demo in served:
            with contextlib.suppress(Exception):
                _close_quickly(demo)  # no new request writes files while they are deleted
        remove_files()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if configured:
            os.environ[GRADIO_TEMP_DIR] = configured
        else:
            os.environ.pop(GRADIO_TEMP_DIR, None)
        log.info("Removed the files Gradio and the app kept for visitors.")


def _sweep_until(stopped: threading.Event, gradio_folder: Path, served: list[Any]) -> None:
    while not stopped.wait(RETENTION.sweep_every_s):
        try:
            sweep()
            for demo in served:
                sweep_gradio_folder(gradio_folder, demo)
        except Exception:  # a sweep must never take the app down; the next one tries again
            log.exception("Sweeping old visitor files failed")


__all__ = [
    "RETENTION",
    "Retention",
    "Serving",
    "remove_at_shutdown",
    "removed_on_shutdown",
    "sweep",
    "sweep_gradio_folder",
]
