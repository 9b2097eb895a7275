"""The Train tab on Hugging Face Jobs: a signed-in visitor trains on their own account (their OAuth
token, never the Space's), watches progress from the job's log, and gets the edit into their gallery
and a YAML. Handlers are called directly, against the local Jobs stand-in (tests/jobs_server.py)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest
import torch
import yaml
from jobs_server import Job, JobsServer, scripted
from space_env import api_fn, on_a_space_with_sign_in

from feat_space.editing.edit import FeatEdit
from feat_space.editing.recipe import PRESETS
from feat_space.editing.storage import CONFIG_NAME, WEIGHTS_NAME, save_edit
from feat_space.jobs import client as jobs_client
from feat_space.jobs.spec import argv_of
from feat_space.registry.drafts import read_draft
from feat_space.registry.registry import load_registry
from feat_space.registry.schema import EditEntry
from feat_space.session import Session
from feat_space.training.report import progress_line, result_line
from feat_space.ui import build_app
from feat_space.ui.context import AppContext, Limits
from feat_space.ui.training_view import LOSS_PANELS

VISITOR_TOKEN = "hf_visitor_write"
ROOT = Path(__file__).resolve().parent.parent

# The Train tab's streamed outputs: feedback, one plot per loss panel, preview, mask, edit list, ...
PREVIEW = 1 + len(LOSS_PANELS)
CHOICES = PREVIEW + 2


def space_scopes() -> tuple[str, ...]:
    """The OAuth scopes the Space asks for (README front matter): what a visitor's token is granted."""
    front_matter = (ROOT / "README.md").read_text().split("---")[1]
    return tuple(yaml.safe_load(front_matter)["hf_oauth_scopes"])


def visitor_token(scopes: tuple[str, ...]) -> gr.OAuthToken:
    return gr.OAuthToken(token=VISITOR_TOKEN, scope=" ".join(scopes), expires_at=int(time.time()) + 3600)


OWNER_TOKEN = "hf_space_owner_secret"
SPACE_COMMIT = "c" * 40


@pytest.fixture(scope="module")
def session(tiny_session) -> Session:
    return tiny_session


def space_hub(scopes: tuple[str, ...], behaviour=None) -> JobsServer:
    """The Hub stand-in, knowing the Space (at SPACE_COMMIT) and accepting the visitor's token with `scopes`."""
    hub = JobsServer(token=VISITOR_TOKEN, user="visitor", behaviour=behaviour, scopes=scopes)
    hub.spaces["someone/feat-space"] = SPACE_COMMIT
    return hub


@pytest.fixture
def space(monkeypatch, tmp_path):
    """What a Space with `hf_oauth: true` has in its environment, its secret token included."""
    on_a_space_with_sign_in(monkeypatch, "openid profile " + " ".join(space_scopes()))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    for name in ("HF_HUB_OFFLINE", "FEAT_JOB_CODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_TOKEN", OWNER_TOKEN)  # the Space's own secret: must never be used for a job
    monkeypatch.setattr(jobs_client, "POLL_SECONDS", 0.05)
    return monkeypatch


def test_a_signed_in_visitor_trains_on_their_own_account(space, session, tmp_path):
    G = session.generator
    torch.manual_seed(0)
    folder = save_edit(FeatEdit(PRESETS["colour"].recipe.config_for(G, "a face with freckles")), tmp_path / "edit")
    (folder / "training.json").write_text('{"steps_trained": 4, "history": []}')

    def the_job(job: Job) -> None:
        argv = argv_of(job.spec["command"])
        repo = argv[argv.index("--publish") + 1]
        for name in (CONFIG_NAME, WEIGHTS_NAME, "training.json"):
            commit = hub.add_file(repo, name, (folder / name).read_bytes())
        lines = [progress_line(s, 4, {"clip": 1.0 / s, "total": 1.0 / s}, 0.1, 0.4, "ok") for s in (2, 4)]
        scripted(*lines, result_line("done", 4, repo=repo, revision=commit), pause=0.05)(job)

    hub = space_hub(space_scopes(), the_job)
    with hub:
        space.setenv("HF_ENDPOINT", hub.url)
        ctx = AppContext(session, load_registry(), Limits(max_steps=50))
        demo = build_app(context=ctx)
        train = api_fn(demo, "train_on_jobs")
        request = SimpleNamespace(session_hash="visitor-jobs")
        form = ("a face with freckles", "Freckles", "colour", 4, None, 0.3, "t4-small")

        # Said beside Start (the feedback line), not raised onto every output.
        assert "Sign in with Hugging Face first" in list(train(*form, request, None))[-1][0]
        empty = gr.OAuthToken(token="", scope="", expires_at=int(time.time()) + 3600)
        refused = list(train(*form, request, empty))[-1][0]
        assert "sign in with Hugging Face (again)" in refused  # not HF_TOKEN's account
        assert not hub.jobs, "no job without the visitor's login"

        updates = list(train(*form, request, visitor_token(space_scopes())))
        job = next(iter(hub.jobs.values()))

    # The visitor's token ran the job (the stand-in accepts no other) and is its only secret.
    assert job.spec["secrets"] == {"HF_TOKEN": VISITOR_TOKEN} and job.spec["flavor"] == "t4-small"
    assert job.spec["command"][4:6] == [f"{hub.url}/spaces/someone/feat-space", SPACE_COMMIT], "the Space's commit"
    statuses = [u[0] for u in updates if isinstance(u[0], str)]
    assert any("step **2/4**" in s for s in statuses) and any("step **4/4**" in s for s in statuses)
    assert any("scheduling" in s or "running" in s for s in statuses), "the job's stage is shown"
    final = updates[-1]
    assert "**Done.**" in final[0] and "visitor/feat-freckles" in final[0]
    assert ["★ Freckles · colour (yours)", "user:freckles"] in [list(c) for c in final[CHOICES].choices]

    trained = ctx.visitors.peek(request).trained["user:freckles"]
    restored = EditEntry.model_validate(read_draft(trained.folder))  # what a restart restores a saved edit from
    assert restored == trained.entry and restored.checkpoint.status == "unpublished"
    assert trained.steps_done == 4 and "(4 steps)" in final[0], "the steps the job reported"
    assert {p.name for p in trained.folder.iterdir()} == {CONFIG_NAME, WEIGHTS_NAME, "training.json", "edit.yaml"}
    assert not list((tmp_path / "hf").rglob(WEIGHTS_NAME)), "the private weights are not left in the shared cache"

    code, *_ = api_fn(demo, "export_yaml")("user:freckles", 0.3, request)
    data = yaml.safe_load(code.value)
    assert data["training"] == {"steps": 4} and data["defaults"] == {"mask_threshold": 0.3}
    assert data["checkpoint"] == {"status": "unpublished"}, "the job's private upload is not a publication"


def test_the_stop_button_cancels_the_job(space, session):
    endless = scripted(*(progress_line(s, 999, {"total": 1.0}, 0.1) for s in range(1, 999)), pause=0.05)
    hub = space_hub(space_scopes(), endless)
    with hub:
        space.setenv("HF_ENDPOINT", hub.url)
        ctx = AppContext(session, load_registry(), Limits(max_steps=1000))
        demo = build_app(context=ctx)
        request = SimpleNamespace(session_hash="visitor-stop")
        run = api_fn(demo, "train_on_jobs")(
            "a face with freckles", "", "colour", 999, None, 0.0, "t4-small", request, visitor_token(space_scopes())
        )
        for update in run:
            if "step **" in str(update[0]):
                break
        assert "Canceling the job" in api_fn(demo, "stop_training")(request)
        rest = list(run)
        job = next(iter(hub.jobs.values()))
    assert job.canceled.is_set() and job.stage == "CANCELED"
    assert [path for _, path in hub.requests if path.endswith("/cancel")] == [f"/api/jobs/visitor/{job.id}/cancel"], (
        "canceled once: Stop's handler did, the loop following the job does not again"
    )
    assert "Canceled" in rest[-1][0]
    assert not ctx.visitors.peek(request).training


def test_a_token_without_the_jobs_scope_is_told_what_is_missing(space, session):
    """The Hub refuses to start a job for a token not granted `jobs` (as a Space asking only for repo
    scopes would get): the visitor is told it is the Jobs permission, and the Space asks for it."""
    assert "jobs" in space_scopes(), "README front matter: hf_oauth_scopes must include jobs"
    granted = tuple(s for s in space_scopes() if s != "jobs")
    hub = space_hub(granted)
    with hub:
        space.setenv("HF_ENDPOINT", hub.url)
        demo = build_app(context=AppContext(session, load_registry(), Limits(max_steps=50)))
        request = SimpleNamespace(session_hash="visitor-no-jobs-scope")
        form = ("a face with freckles", "Freckles", "colour", 4, None, 0.3, "t4-small")
        said = list(api_fn(demo, "train_on_jobs")(*form, request, visitor_token(granted)))[-1][0]
        assert re.search(r"HTTP 403.*Jobs permission.*`jobs` scope", said, re.DOTALL), said
    assert not hub.jobs
