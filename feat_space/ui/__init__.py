"""The Gradio user interface: `build_app()` builds it, `launch()` serves it."""

from .app import build_app, launch, launch_options

__all__ = ["build_app", "launch", "launch_options"]
