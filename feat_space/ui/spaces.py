"""Hugging Face Spaces integration that must not be a hard dependency.

On ZeroGPU hardware a GPU is attached only inside functions decorated with `spaces.GPU`; the `spaces`
package exists there (and on other Spaces), not on an ordinary install, so `gpu()` falls back to the
identity and the app runs unchanged on CPU-only machines.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

try:  # present on Hugging Face Spaces only
    import spaces as _spaces
except ImportError:  # pragma: no cover - depends on the machine
    _spaces = None


def zero_gpu_available() -> bool:
    return _spaces is not None


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
        logging.getLogger("feat_space.ui").warning(
            "Sign in with Hugging Face is off: %s not installed (requirements: gradio[oauth]).", ", ".join(missing)
        )
        return False
    return True
