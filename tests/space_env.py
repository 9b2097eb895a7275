"""What a Hugging Face Space with "Sign in with Hugging Face" (`hf_oauth: true`) has in its environment,
for tests of the app as it runs there; and a page handler by its API name."""

from __future__ import annotations

from collections.abc import Callable

import gradio as gr
import pytest


def on_a_space_with_sign_in(monkeypatch: pytest.MonkeyPatch, scopes: str = "openid profile write-repos") -> None:
    pytest.importorskip("authlib", reason="Sign in with Hugging Face needs gradio[oauth]")
    monkeypatch.setenv("SYSTEM", "spaces")
    monkeypatch.setenv("SPACE_ID", "someone/feat-space")
    for name, value in [("CLIENT_ID", "id"), ("CLIENT_SECRET", "secret"), ("SCOPES", scopes)]:
        monkeypatch.setattr(gr.oauth, f"OAUTH_{name}", value)
        monkeypatch.setenv(f"OAUTH_{name}", value)
    monkeypatch.setattr(gr.oauth, "OPENID_PROVIDER_URL", "https://huggingface.co")


def api_fn(demo: gr.Blocks, name: str) -> Callable:
    """The function behind the app's endpoint `name`, to call directly (as Gradio would, minus HTTP)."""
    return next(fn.fn for fn in demo.fns.values() if fn.api_name == name)
