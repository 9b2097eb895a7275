"""Signed-in visitors' trained edits survive a restart where the Space has storage (FEAT_DATA_DIR or
/data), under their account and nobody else's, listed and deletable; without storage the app says
that edits last for the session."""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest
from gradio_client import Client

from feat_space.editing.storage import TRAINING_LOG, save_edit
from feat_space.errors import FeatError
from feat_space.registry.demo import demo_edit
from feat_space.registry.drafts import entry_from_prompt, write_draft
from feat_space.registry.registry import load_registry
from feat_space.session import Session
from feat_space.ui import build_app
from feat_space.ui.catalogue import user_value
from feat_space.ui.context import AppContext, Limits
from feat_space.ui.edit_storage import DATA_DIR_ENV, EditStorage, storage_root
from feat_space.ui.saved_edits import SESSION_ONLY, delete_saved, kept_edits, sign_in, status_text
from feat_space.ui.state import TrainedEdit

ALICE = {"sub": "6512a0c3f1e2d3", "preferred_username": "alice", "name": "Alice"}
BOB = {"sub": "6512a0c3f1e2d4", "preferred_username": "bob", "name": "Bob"}


@pytest.fixture(scope="module")
def session():
    return Session("tiny", device="cpu")


def tab(name: str) -> SimpleNamespace:
    """What the handlers read from a `gr.Request`: its browser session."""
    return SimpleNamespace(session_hash=name)


def trained_in_tab(visitor, session, prompt: str = "a face with freckles") -> TrainedEdit:
    """What the Train tab leaves when a training ends: an edit folder in the tab's temporary folder."""
    entry = entry_from_prompt(prompt, "skin", where="test")
    folder = visitor.root / "edits" / f"{entry.name}-1a2b3c4d"
    save_edit(demo_edit(entry, session.generator), folder)
    write_draft(folder, entry)
    (folder / TRAINING_LOG).write_text(json.dumps({"history": [{"step": 1}, {"step": 2}, {"step": 3}]}))
    return TrainedEdit(key=user_value(entry.name), entry=entry, folder=folder, steps_done=3)


def test_where_storage_is(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert storage_root() == tmp_path
    monkeypatch.setenv(DATA_DIR_ENV, "")
    assert storage_root() is None, "set empty: keep nothing"
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    with pytest.raises(FeatError, match=r"cannot be written.*set it empty"):
        EditStorage(blocked)
    monkeypatch.delenv(DATA_DIR_ENV)
    expected = Path("/data") if Path("/data").is_dir() and os.access("/data", os.W_OK) else None
    assert storage_root() == expected


def test_account_keys_are_secret_stable_and_private(tmp_path, monkeypatch):
    monkeypatch.delenv("FEAT_STORAGE_SECRET", raising=False)
    storage = EditStorage(tmp_path)
    alice = storage.account(ALICE)
    assert alice.username == "alice"
    assert "alice" not in alice.key and ALICE["sub"] not in alice.key and len(alice.key) == 40
    assert storage.account(BOB).key != alice.key
    assert EditStorage(tmp_path).account(ALICE) == alice, "the same key after a restart"
    secret = tmp_path / "feat-space" / "secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600, "only the app can read the secret"
    assert EditStorage(tmp_path / "other").account(ALICE).key != alice.key, "not computable without the secret"
    with pytest.raises(FeatError, match="did not say who you are"):
        storage.account({})


def test_a_signed_in_visitor_s_edit_survives_a_restart_and_can_be_deleted(tmp_path, monkeypatch, session):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    before = AppContext(session, load_registry())
    visitor = before.visitors.get(tab("alice-tab-1"))
    account = sign_in(before, visitor, ALICE)
    assert account is not None
    trained = trained_in_tab(visitor, session)
    temporary = trained.folder
    visitor.add(trained)  # what the Train tab does when the training ends
    assert not temporary.exists() and trained.folder.parent == before.catalogue.storage.folder(account)
    assert (trained.folder / "model.safetensors").is_file()
    before.visitors.forget(tab("alice-tab-1"))  # the tab closes: its temporary files go, the kept edit stays
    assert trained.folder.is_dir()

    after = AppContext(session, load_registry())  # the app restarted
    again = after.visitors.get(tab("alice-tab-2"))
    sign_in(after, again, ALICE)
    assert ("★ A face with freckles · skin (yours)", "user:a-face-with-freckles") in after.catalogue.choices(again)
    choice = after.catalogue.resolve("user:a-face-with-freckles", again)
    assert choice.edit.config.prompt == "a face with freckles", "usable at once"
    kept = kept_edits(after, again)
    assert [t.steps_done for t in kept] == [3]
    assert "Signed in as **alice**" in status_text(after.catalogue.storage, account, kept)

    bob = after.visitors.get(tab("bob-tab"))
    sign_in(after, bob, BOB)
    assert bob.edits() == [], "nobody else sees it"
    with pytest.raises(FeatError, match="not among your saved edits"):
        delete_saved(after, bob, after.catalogue.storage.account(BOB), kept[0].folder.name)
    for bad in ("../" + kept[0].folder.name, ".", "..", ""):
        with pytest.raises(FeatError):
            delete_saved(after, again, account, bad)
    assert kept[0].folder.is_dir()
    anonymous = after.visitors.get(tab("not-signed-in"))
    assert sign_in(after, anonymous, None) is None and anonymous.edits() == []
    with pytest.raises(FeatError, match="Sign in"):
        delete_saved(after, anonymous, None, kept[0].folder.name)

    delete_saved(after, again, account, kept[0].folder.name)
    assert not kept[0].folder.exists() and again.edits() == []
    restarted = AppContext(session, load_registry())
    third = restarted.visitors.get(tab("alice-tab-3"))
    sign_in(restarted, third, ALICE)
    assert third.edits() == [], "deleted for good"


def test_retraining_in_another_session_keeps_the_newer_edit(tmp_path, monkeypatch, session):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    ctx = AppContext(session, load_registry())
    first = ctx.visitors.get(tab("one"))
    sign_in(ctx, first, ALICE)
    older = trained_in_tab(first, session)
    first.add(older)
    second = ctx.visitors.get(tab("two"))
    newer = trained_in_tab(second, session)
    newer.folder.rename(newer.folder.with_name("a-face-with-freckles-9f9f9f9f"))
    newer.folder = newer.folder.with_name("a-face-with-freckles-9f9f9f9f")
    sign_in(ctx, second, ALICE)
    second.add(newer)
    third = ctx.visitors.get(tab("three"))
    sign_in(ctx, third, ALICE)
    assert [t.folder.name for t in third.edits()] == ["a-face-with-freckles-9f9f9f9f"]
    assert not older.folder.exists(), "one edit per name: the older copy is deleted"


def test_without_storage_the_app_says_edits_last_for_the_session(monkeypatch, session):
    monkeypatch.setenv(DATA_DIR_ENV, "")
    ctx = AppContext(session, load_registry())
    assert ctx.catalogue.storage is None
    visitor = ctx.visitors.get(tab("x"))
    assert sign_in(ctx, visitor, ALICE) is None and visitor.keep is None
    assert "last for this browser tab's session" in SESSION_ONLY
    config = json.dumps(build_app(context=ctx).config, default=str)
    assert "last for this browser tab" in config and "deleted within 6 h" in config


def test_the_train_tab_s_edit_goes_to_storage_through_the_app(tmp_path, monkeypatch, session):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    ctx = AppContext(session, load_registry(), Limits(gpu_slots=1, queue_size=4, trainings=1, max_steps=5))
    demo = build_app(context=ctx)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(url, verbose=False, download_files=str(tmp_path / "client"))
        # Gradio's OAuth needs a Space; the profile it would inject is given to this session's handler here.
        account = sign_in(ctx, ctx.visitors.get(tab(client.session_hash)), ALICE)
        final = client.submit("a face with a big smile", "Smile", "face features", 2, 0.5, api_name="/train").result()
        assert "is ready" in final[0] and "saved to your account" in final[0]
        kept = ctx.catalogue.storage.saved(account)
        assert [k.entry.name for k in kept] == ["smile"] and kept[0].steps_done == 2
        # The panel's page-open handler runs under Gradio (here without a Space's sign-in: no profile).
        status, _saved, choices, _gallery = client.predict(api_name="/saved_edits")
        assert "last for this browser tab's session" in status
        assert ["★ Smile · face features (yours)", "user:smile"] in choices["choices"], "the session keeps its edit"
    finally:
        demo.close()
