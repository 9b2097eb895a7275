"""The About tab's health check: shown and run locally and for the Space's owner, refused to others."""

from __future__ import annotations

import functools
from pathlib import Path

import gradio as gr
import pytest
from space_env import on_a_space_with_sign_in

from feat_space.session import Session
from feat_space.ui import doctor_panel
from feat_space.ui.app import build_app

PHOTO = [Path(__file__).parent / "data" / "astronaut.png"]


def profile(username: str) -> gr.OAuthProfile:
    return gr.OAuthProfile({"name": username, "preferred_username": username, "profile": "", "picture": ""})


def handler(demo: gr.Blocks, name: str):
    return next(fn.fn for fn in demo.fns.values() if fn.fn is not None and fn.fn.__name__ == name)


def test_who_may_run_it(monkeypatch):
    monkeypatch.delenv("SYSTEM", raising=False)
    assert doctor_panel.may_run_doctor(None)  # a local app: the machine is theirs
    on_a_space_with_sign_in(monkeypatch)
    monkeypatch.setenv(doctor_panel.OWNER_ENV, "someone")
    assert not doctor_panel.may_run_doctor(None)
    assert not doctor_panel.may_run_doctor(profile("visitor"))
    assert doctor_panel.may_run_doctor(profile("someone"))
    monkeypatch.delenv(doctor_panel.OWNER_ENV)
    assert not doctor_panel.may_run_doctor(profile("someone"))  # no owner known: nobody


def test_on_a_space_only_the_owner_runs_it(monkeypatch):
    on_a_space_with_sign_in(monkeypatch)
    monkeypatch.setenv(doctor_panel.OWNER_ENV, "someone")
    real = doctor_panel.run_doctor
    monkeypatch.setattr(doctor_panel, "run_doctor", functools.partial(real, photos=PHOTO, probe_steps=1))
    demo = build_app(Session("tiny", device="cpu"), {})
    assert handler(demo, "doctor_shown")(profile("visitor")).visible is False
    assert handler(demo, "doctor_shown")(profile("someone")).visible is True
    run = handler(demo, "run_health_check")
    with pytest.raises(gr.Error, match="Only the Space's owner"):
        run(profile("visitor"))  # a hidden button can still be called
    report, sheet = run(profile("someone"))
    assert "# feat-space doctor" in report and "All checks passed" in report
    assert sheet.visible and Path(sheet.value["path"] if isinstance(sheet.value, dict) else sheet.value).is_file()
