"""Signed-in visitors' trained edits survive a restart where the Space has storage (FEAT_DATA_DIR or
/data), under their account and nobody else's, listed and deletable; without storage the app says
that edits last for the session."""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import os
import shutil
import socket
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest
from gradio_client import Client

from feat_space.editing.storage import TRAINING_LOG, save_edit
from feat_space.errors import FeatError
from feat_space.hosting import storage as edit_storage
from feat_space.hosting.storage import DATA_DIR_ENV, EditStorage, storage_root
from feat_space.registry.demo import demo_edit
from feat_space.registry.drafts import entry_from_prompt, write_draft
from feat_space.registry.registry import load_registry
from feat_space.ui import build_app
from feat_space.ui.catalogue import user_value
from feat_space.ui.context import AppContext, Limits
from feat_space.ui.saved_edits import SESSION_ONLY, delete_saved, kept_edits, sign_in, status_text
from feat_space.ui.state import TrainedEdit

ALICE = {"sub": "6512a0c3f1e2d3", "preferred_username": "alice", "name": "Alice"}
BOB = {"sub": "6512a0c3f1e2d4", "preferred_username": "bob", "name": "Bob"}


@pytest.fixture(scope="module")
def session(tiny_session):
    return tiny_session


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


def test_tests_keep_nothing_even_where_the_host_has_storage(tmp_path, monkeypatch):
    monkeypatch.setattr(edit_storage, "SPACE_STORAGE", tmp_path)  # a writable /data, as on a Space
    assert storage_root() is None, "tests/conftest.py sets FEAT_DATA_DIR empty for every test"


def test_a_username_never_opens_the_folder_of_an_id(tmp_path):
    storage = EditStorage(tmp_path, secret=b"s" * 32)
    by_id = storage.account({"sub": "alice", "preferred_username": "x"})
    by_name = storage.account({"preferred_username": "alice"})  # a profile without an id
    assert by_id.key != by_name.key
    released = hmac.new(b"s" * 32, b"hf:" + ALICE["sub"].encode(), hashlib.sha256).hexdigest()[:40]
    assert storage.account(ALICE).key == released, "keys of ids as first released: kept edits stay their owners'"


def test_processes_starting_at_once_agree_on_one_secret(tmp_path, monkeypatch):
    monkeypatch.delenv("FEAT_STORAGE_SECRET", raising=False)
    token_hex = edit_storage.secrets.token_hex
    others = []

    def another_process_starts_meanwhile(n: int) -> str:
        if not others:  # while the first is making its secret, a second starts and reads what is there
            others.append(None)
            others[0] = EditStorage(tmp_path)
        return token_hex(n)

    monkeypatch.setattr(edit_storage.secrets, "token_hex", another_process_starts_meanwhile)
    first = EditStorage(tmp_path)
    assert first.account(ALICE) == others[0].account(ALICE)
    assert [p.name for p in (tmp_path / "feat-space").iterdir() if p.is_file()] == ["secret"], "no temporary left"


def test_a_storage_failure_keeps_the_training_in_the_session(tmp_path, monkeypatch, session):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    ctx = AppContext(session, load_registry())
    visitor = ctx.visitors.get(tab("alice"))
    account = sign_in(ctx, visitor, ALICE)
    trained = trained_in_tab(visitor, session)
    temporary = trained.folder

    def full(src, dst, **kwargs):
        Path(dst).mkdir(parents=True)
        (Path(dst) / "config.json").write_text("{}")  # half copied when the disk filled up
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(edit_storage.shutil, "copytree", full)
    with pytest.warns(UserWarning, match="Could not save “A face with freckles” to this Space's storage"):
        assert visitor.add(trained) is None
    assert visitor.edits() == [trained] and trained.folder == temporary and (temporary / "model.safetensors").is_file()
    assert list(ctx.catalogue.storage.folder(account).iterdir()) == [], "no half-copied edit left in storage"
    assert visitor.keep is None, "the Train tab says 'for this browser tab only'"
    status = status_text(ctx.catalogue.storage, account, [], visitor.storage_problem)
    assert "storage failed" in status and "No space left on device" in status and "export its YAML" in status
    assert ctx.catalogue.resolve("user:a-face-with-freckles", visitor).edit.config.prompt == "a face with freckles"


def test_opening_pages_deletes_no_saved_edit(tmp_path, monkeypatch, session):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    ctx = AppContext(session, load_registry())
    storage = ctx.catalogue.storage
    account = storage.account(ALICE)
    home = storage.folder(account)
    for name in ("a-face-with-freckles-00000001", "a-face-with-freckles-00000002"):  # as an older version left them
        made = trained_in_tab(ctx.visitors.get(tab("training")), session)
        shutil.copytree(made.folder, home / name)
        shutil.rmtree(made.folder)
    os.utime(home / "a-face-with-freckles-00000001", (1, 1))  # the older one
    real_iterdir = Path.iterdir

    def deleted_by_another_tab(self):  # listed, then gone before it is read
        yield from real_iterdir(self)
        if self == home:
            yield home / "a-face-with-freckles-0000dead"

    monkeypatch.setattr(Path, "iterdir", deleted_by_another_tab)
    tabs = [ctx.visitors.get(tab(f"tab-{i}")) for i in range(2)]
    for visitor in tabs:
        sign_in(ctx, visitor, ALICE)
        assert [t.folder.name for t in visitor.edits()] == ["a-face-with-freckles-00000002"], "the newer is listed"
    assert (home / "a-face-with-freckles-00000001").is_dir(), "opening a page deletes nothing"


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


def test_the_saved_edits_panel_is_refreshed_when_a_training_ends(monkeypatch, session):
    monkeypatch.setenv(DATA_DIR_ENV, "")
    config = build_app(context=AppContext(session, load_registry())).config
    status = next(c["id"] for c in config["components"] if c["props"].get("elem_id") == "saved-edits-status")
    trainings = {d["id"] for d in config["dependencies"] if d.get("api_name") in ("train", "train_on_jobs")}
    refreshes = [d for d in config["dependencies"] if d.get("trigger_after") in trainings and status in d["outputs"]]
    assert trainings and len(refreshes) == len(trainings), "each way of training is followed by the panel's refresh"


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
