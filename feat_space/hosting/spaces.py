"""Hugging Face Spaces integration that must not be a hard dependency.

On ZeroGPU hardware a GPU is attached only inside functions decorated with `spaces.GPU`; the `spaces`
package exists there (and on other Spaces), not on an ordinary install, so `gpu()` falls back to the
identity and the app runs unchanged on CPU-only machines. Installed elsewhere, `spaces.GPU` itself
passes the function through (it only acts when SPACES_ZERO_GPU is set).

The ZeroGPU rule this app follows (Hugging Face's "Spaces ZeroGPU" documentation,
https://huggingface.co/docs/hub/spaces-zerogpu, "Getting started" and its example: the model is
moved with `.to('cuda')` at start-up, outside any decorated function, and only the function doing
the GPU work is decorated with `@spaces.GPU`):

1. Every handler that runs a model is decorated, through `gpu()`: the edit (60 s) and the training
   (300 s) handlers. Nothing else runs a model.
2. The models are loaded and placed on the session's device ("cuda") in the main process at
   start-up, before `launch()` (`place_models_for_zero_gpu`). There `spaces` has patched torch so
   that `.to("cuda")` only records the tensors, without initialising CUDA; at launch it packs them
   to disk (`startup` → `torch.pack()` in spaces/zero/__init__.py), and each GPU worker, a process
   forked for the decorated call, moves them onto the GPU it was given (`worker_init` →
   `torch.move()` in spaces/zero/wrappers.py). Loaded lazily inside a decorated handler instead,
   the models would be loaded again in every new worker and never reach the main process.
3. Decorated handlers return CPU data (images, file paths, text), never CUDA tensors.

Consequence of (2)'s forked workers, not handled here: what a decorated handler changes in Python
state (the session's photo cache, a visitor's trained edits, a stop request set meanwhile) stays in
its worker process.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from ..session import Session

F = TypeVar("F", bound=Callable)

try:  # present on Hugging Face Spaces only
    import spaces as _spaces
except ImportError:  # pragma: no cover - depends on the machine
    _spaces = None


def zero_gpu_available() -> bool:
    """The `spaces` package is importable (on a Space, or installed): `gpu()` goes through `spaces.GPU`."""
    return _spaces is not None


def zero_gpu_active() -> bool:
    """Running on ZeroGPU hardware: `spaces` is importable and says so (SPACES_ZERO_GPU, which the
    hardware sets; `spaces.config.Config.zero_gpu` when the package has it)."""
    if _spaces is None:
        return False
    settings = getattr(getattr(_spaces, "config", None), "Config", None)
    if settings is not None and hasattr(settings, "zero_gpu"):
        return bool(settings.zero_gpu)
    return os.environ.get("SPACES_ZERO_GPU", "").strip().lower() in ("1", "t", "true")


def place_models_for_zero_gpu(session: Session) -> bool:
    """On ZeroGPU, load every model of `session` and place it on its device now, before the app
    launches (rule 2 in the module docstring); elsewhere do nothing (models load on first use).
    True when the models were placed."""
    if not zero_gpu_active():
        return False
    if session.device.type != "cuda":
        logging.getLogger("feat_space.hosting").warning(
            "ZeroGPU hardware, but the models run on %s (FEAT_DEVICE?): the GPU will not be used.", session.device
        )
    session.load()
    return True


def gpu(duration: int = 60) -> Callable[[F], F]:
    """`spaces.GPU(duration=...)` when the `spaces` package is importable, else leave `fn` as it is."""

    def decorate(fn: F) -> F:
        if _spaces is None:
            return fn
        return _spaces.GPU(duration=duration)(fn)

    return decorate


def on_spaces() -> bool:
    """Running as a Hugging Face Space, decided exactly as Gradio decides it (SYSTEM=spaces and SPACE_ID)."""
    from gradio.utils import get_space

    return get_space() is not None


def oauth_enabled() -> bool:
    """The Space has "Sign in with Hugging Face" (`hf_oauth: true` in its README sets OAUTH_CLIENT_ID).

    Only then does the app offer publishing from the browser, with the visitor's own token. Locally,
    Gradio would mock the login with the machine's token, which is exactly what must not be used for
    someone else's upload, so the app points to the CLI instead.
    """
    if not (on_spaces() and os.environ.get("OAUTH_CLIENT_ID")):
        return False
    missing = [m for m in ("authlib", "itsdangerous") if importlib.util.find_spec(m) is None]
    if missing:  # the login would crash the app at start-up: publish through the CLI instead
        logging.getLogger("feat_space.hosting").warning(
            "Sign in with Hugging Face is off: %s not installed (requirements: gradio[oauth]).", ", ".join(missing)
        )
        return False
    return True
