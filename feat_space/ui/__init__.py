"""The Gradio user interface."""

from .app import build_app

__all__ = ["build_app"]
