"""Gradio Blocks app. For now a placeholder page: the editing, training and contribution tabs arrive
with the session and edit registry."""

from __future__ import annotations

import gradio as gr

INTRO = """# feat-space
Text-driven **local** face editing after *FEAT: Face Editing with Attention* (Hou et al., 2022).

The core models (StyleGAN2, e4e, ArcFace) are in place; the editing interface is being built.
See the README for the roadmap and how to run the tests.
"""


def build_app() -> gr.Blocks:
    with gr.Blocks(title="feat-space") as demo:
        gr.Markdown(INTRO)
    return demo
