"""Publishing from the app uses the visitor's own Hugging Face login, never the server's token; a
published registry edit is then loaded from the Hub. Handlers are called directly (no server)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import gradio as gr
import pytest
import torch
import yaml
from hub_server import HubServer
from space_env import api_fn, on_a_space_with_sign_in

from feat_space.editing.edit import FeatEdit
from feat_space.editing.recipe import REGION_PRESETS
from feat_space.editing.storage import load_edit_folder, save_edit
from feat_space.errors import FeatError, NoFaceError
from feat_space.registry.drafts import DRAFT_NAME, entry_yaml
from feat_space.registry.registry import load_registry
from feat_space.registry.schema import EditEntry
from feat_space.session import Session
from feat_space.ui import build_app
from feat_space.ui.catalogue import Catalogue
from feat_space.ui.context import AppContext, Limits
from feat_space.ui.errors import user_errors
from feat_space.ui.state import TrainedEdit

VISITOR_TOKEN = "hf_visitor_write"
OWNER_TOKEN = "hf_space_owner_secret"


@pytest.fixture(scope="module")
def session(tiny_session) -> Session:
    return tiny_session


@pytest.fixture
def hub(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_TOKEN", OWNER_TOKEN)  # the Space's own secret: must never be used for uploads
    with HubServer(write_token=VISITOR_TOKEN) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


def trained_edit(session: Session, visitor, name: str = "freckles") -> TrainedEdit:
    torch.manual_seed(0)
    edit = FeatEdit(REGION_PRESETS["skin"].config_for(session.generator, "a face with freckles"))
    folder = save_edit(edit, visitor.root / "edits" / name)
    entry = EditEntry.model_validate(
        {
            "name": name,
            "title": "Freckles",
            "description": "Adds freckles.",
            "prompt": "a face with freckles",
            "region": "skin",
            "recipe": REGION_PRESETS["skin"].model_dump(mode="json"),
            "checkpoint": {"status": "unpublished"},
        }
    )
    (folder / DRAFT_NAME).write_text(yaml.safe_dump(entry.model_dump(mode="json"), sort_keys=False))
    trained = TrainedEdit(key=f"user:{name}", entry=entry, folder=folder, steps_done=1)
    visitor.trained[trained.key] = trained
    return trained


def test_publishing_uses_the_visitors_login_and_pins_the_export(hub, session, monkeypatch):
    on_a_space_with_sign_in(monkeypatch)
    ctx = AppContext(session, load_registry(), Limits())
    demo = build_app(context=ctx)
    assert demo.expects_oauth, "a Space with hf_oauth gets the Sign in with Hugging Face button"
    publish = api_fn(demo, "publish")
    request = SimpleNamespace(session_hash="visitor-1")
    trained = trained_edit(session, ctx.visitors.get(request))

    assert "Sign in with Hugging Face first" in publish(trained.key, "", request, None, None)
    assert not hub.repos, "nothing is uploaded with the server's token"

    token = gr.OAuthToken(token=VISITOR_TOKEN, scope="write-repos", expires_at=int(time.time()) + 3600)
    profile = gr.OAuthProfile({"name": "Visitor", "preferred_username": "visitor", "profile": "", "picture": ""})
    message = publish(trained.key, "", request, token, profile)
    assert "visitor/feat-freckles" in message and set(hub.repos) == {"visitor/feat-freckles"}
    revision = hub.repos["visitor/feat-freckles"].commit
    assert trained.entry.published and trained.entry.checkpoint.revision == revision
    exported = EditEntry.model_validate(yaml.safe_load(entry_yaml(trained.entry)))
    assert exported.checkpoint.repo == "visitor/feat-freckles" and exported.checkpoint.revision == revision

    # Merged into the registry, it loads from the Hub at that commit and edits like the original.
    catalogue = Catalogue(session, {exported.name: exported})
    assert catalogue.status(exported) == "ready"
    loaded = catalogue.resolve("registry:freckles", None).edit
    trained_weights = load_edit_folder(trained.folder).state_dict()
    for (key, a), b in zip(trained_weights.items(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b), key


def test_without_a_space_login_there_is_no_publish_button(session, monkeypatch):
    monkeypatch.delenv("SPACE_ID", raising=False)
    monkeypatch.delenv("SYSTEM", raising=False)
    demo = build_app(context=AppContext(session, load_registry(), Limits()))
    # Gradio would mock a local login with the machine's own token: the app offers the CLI instead.
    assert not demo.expects_oauth
    assert "publish" not in {fn.api_name for fn in demo.fns.values()}


def test_real_profile_offers_unpublished_edits_for_training_only(session):
    real = SimpleNamespace(profile=SimpleNamespace(trained=True), device="cpu")
    catalogue = Catalogue(real, load_registry())
    assert catalogue.choices(None) == []  # nothing is trained yet
    assert {name for _, name in catalogue.trainable()} >= {"smile", "purple-hair"}
    with pytest.raises(FeatError, match=r"“Smile” is not trained yet.*Train tab"):
        catalogue.resolve("registry:smile", None)


def test_handler_errors_reach_the_visitor_as_messages_without_tracebacks():
    @user_errors
    def no_face():
        raise NoFaceError("No face was found in the photo. Use a photo where the face is clearly visible.")

    @user_errors
    def bug():
        raise KeyError("internal detail")

    @user_errors
    def stream():
        yield 1
        raise NoFaceError("No face.")

    with pytest.raises(gr.Error, match="No face was found"):
        no_face()
    with pytest.raises(gr.Error, match=r"Something went wrong on our side \(KeyError\)") as caught:
        bug()
    assert "internal detail" not in str(caught.value)
    gen = stream()
    assert next(gen) == 1
    with pytest.raises(gr.Error, match="No face"):
        next(gen)
