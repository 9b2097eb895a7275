"""A slider over one of `editing.ranges`: its bounds and step, starting at its default unless told."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ..editing.ranges import Range


def range_slider(values: Range, value: float | None = None, **options: Any) -> gr.Slider:
    """A `gr.Slider` from `values.low` to `values.high` by `values.step`, at `value` (default: its default)."""
    start = values.default if value is None else value
    return gr.Slider(values.low, values.high, value=start, step=values.step, **options)


__all__ = ["range_slider"]
