"""The About tab's health check: `feat-space doctor` on the app's own loaded models, for whoever runs it
locally, and on a Space only for its owner signed in with Hugging Face (the account in SPACE_AUTHOR_NAME;
for an organisation's Space, run `feat-space doctor` from a terminal instead). It reads the model files,
aligns and edits the sample photos and probes the training balance: minutes of the server's time, so not
for every visitor. The panel is hidden from others, and the handler checks again (a hidden button can
still be called)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from ..checks.doctor import SHEET_NAME, run_doctor
from ..errors import FeatError
from ..hosting.spaces import on_spaces
from .context import AppContext
from .errors import user_errors

OWNER_ENV = "SPACE_AUTHOR_NAME"  # set by Hugging Face Spaces: the account that owns the Space


class NotTheOwnerError(FeatError):
    """Someone other than the Space's owner asked for the health check."""


def may_run_doctor(profile: gr.OAuthProfile | None) -> bool:
    """Anyone on a local app (it is their machine); on a Space, only its owner, signed in."""
    if not on_spaces():
        return True
    owner = os.environ.get(OWNER_ENV)
    return bool(owner and profile is not None and profile.username == owner)


@dataclass(frozen=True)
class DoctorPanel:
    accordion: gr.Accordion
    run: gr.Button
    report: gr.Markdown
    sheet: gr.Image


def build_doctor_panel(ctx: AppContext) -> DoctorPanel:
    with gr.Accordion("Health check (doctor)", open=False, visible=not on_spaces()) as accordion:
        gr.Markdown(
            "Checks this server's models (files and their pins, checkpoint layouts, the reconstruction of the "
            "sample photos), the shipped edits, the training balance and, on a GPU, the CUDA kernels: the same "
            "as `feat-space doctor`. It takes a few minutes of the server's time."
        )
        run = gr.Button("Run the health check", variant="secondary")
        report = gr.Markdown()
        sheet = gr.Image(label="Contact sheet: the sample photos before and after", type="filepath", visible=False)
    return DoctorPanel(accordion, run, report, sheet)


def wire_doctor_panel(ctx: AppContext, demo: gr.Blocks, panel: DoctorPanel) -> None:
    def doctor_shown(profile: gr.OAuthProfile | None) -> gr.Accordion:
        return gr.Accordion(visible=may_run_doctor(profile))

    @user_errors
    def run_health_check(profile: gr.OAuthProfile | None) -> tuple[str, gr.Image]:
        if not may_run_doctor(profile):
            raise NotTheOwnerError(
                f"Only the Space's owner ({os.environ.get(OWNER_ENV) or 'unknown'}) may run the health check: "
                "sign in with Hugging Face as that account, or run `feat-space doctor` where the app is installed."
            )
        out = Path(tempfile.mkdtemp(prefix="feat-doctor-"))
        report = run_doctor(session=ctx.session, out=out)
        sheet = out / SHEET_NAME
        return report.markdown(), gr.Image(value=str(sheet) if sheet.is_file() else None, visible=sheet.is_file())

    demo.load(doctor_shown, None, panel.accordion, api_visibility="private", queue=False)
    panel.run.click(run_health_check, None, [panel.report, panel.sheet], api_visibility="private")


__all__ = ["OWNER_ENV", "DoctorPanel", "build_doctor_panel", "may_run_doctor", "wire_doctor_panel"]
