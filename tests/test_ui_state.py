"""Visitors' state in the app, without a server: retraining, closing tabs, listing while training."""

from __future__ import annotations

import types
from pathlib import Path

import pytest

from feat_space.registry.registry import load_registry
from feat_space.ui.context import AppContext, Limits
from feat_space.ui.state import Renders, TrainedEdit, Visitor, Visitors
from feat_space.ui.training_local import make_local_handler
from feat_space.ui.training_view import LocalSpeed

PROMPT = "a face with freckles"


@pytest.fixture(scope="module")
def context(tiny_session) -> AppContext:
    return AppContext(tiny_session, load_registry(), Limits(gpu_slots=2, queue_size=4, trainings=1, max_steps=50))


@pytest.fixture
def train(context):
    handler = make_local_handler(context, LocalSpeed(context))
    return lambda request, steps=2: handler(PROMPT, "freckles", "skin", steps, None, 0.0, request, lambda *a, **k: None)


def request(name: str):
    return types.SimpleNamespace(session_hash=name)


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def trained_once(context, train, req) -> tuple[Visitor, TrainedEdit]:
    for _ in train(req):
        pass
    visitor = context.visitors.peek(req)
    return visitor, visitor.trained["user:freckles"]


def test_a_retrain_stopped_before_its_first_step_keeps_the_old_edit(context, train):
    req = request("retrain-stopped")
    visitor, old = trained_once(context, train, req)
    before = files(old.folder)
    run = train(req)
    next(run)  # training has started
    visitor.stop.set()
    for _ in run:
        pass
    assert visitor.trained["user:freckles"] is old
    assert files(old.folder) == before
    assert files(old.folder.parent) == [old.folder.name]  # the new run's folder is gone
    context.catalogue.resolve("user:freckles", visitor)  # still loads


def test_a_failed_retrain_keeps_the_old_edit(context, train, monkeypatch):
    req = request("retrain-failed")
    visitor, old = trained_once(context, train, req)
    before = files(old.folder)

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("feat_space.training.trainer.Trainer.run", broken)
    updates = list(train(req))  # the failure is the feedback line's text, beside Start (not an error badge)
    assert "went wrong" in updates[-1][0]
    assert visitor.trained["user:freckles"] is old
    assert files(old.folder) == before
    assert files(old.folder.parent) == [old.folder.name]


def test_a_finished_retrain_replaces_the_old_edit_and_its_files(context, train):
    req = request("retrain-done")
    visitor, old = trained_once(context, train, req)
    for _ in train(req):
        pass
    new = visitor.trained["user:freckles"]
    assert new is not old and list(visitor.trained) == ["user:freckles"]
    assert not old.folder.exists()
    assert files(new.folder.parent) == [new.folder.name]
    context.catalogue.resolve("user:freckles", visitor)


def test_a_tab_closed_while_training_has_its_files_deleted_when_training_ends(context, train):
    req = request("closed-while-training")
    run = train(req)
    next(run)
    visitor = context.visitors.peek(req)
    context.visitors.forget(req)
    assert visitor.closed and visitor.stop.is_set()
    assert visitor.root.exists()  # the training still writes there
    for _ in run:
        pass
    assert not visitor.root.exists()


def test_a_visitor_dropped_while_training_is_stopped_and_its_files_deleted(context, train, monkeypatch):
    req = request("dropped-while-training")
    run = train(req, steps=50)
    next(run)
    visitor = context.visitors.peek(req)
    monkeypatch.setattr(context.visitors, "max_visitors", 1)
    context.visitors.get(request("newcomer"))  # the oldest visitors are dropped
    assert context.visitors.peek(req) is None
    assert visitor.closed and visitor.stop.is_set()
    for _ in run:
        pass
    assert "user:freckles" not in visitor.trained  # stopped before its first step
    assert not visitor.root.exists()


def test_an_idle_visitor_is_deleted_at_once(tmp_path):
    visitors = Visitors(max_visitors=1)
    first = visitors.get(request("a"))
    visitors.get(request("b"))
    assert first.closed and not first.root.exists()
    second = visitors.peek(request("b"))
    visitors.forget(request("b"))
    assert second.closed and not second.root.exists()


class _SneakyEntry:
    """An entry whose title, when read, has the train thread add an edit: a listing mid-iteration."""

    def __init__(self, visitor: Visitor, entry) -> None:
        self.visitor, self.entry, self.fired = visitor, entry, False

    def __getattr__(self, name):
        if name == "title" and not self.fired:
            self.fired = True
            self.visitor.trained["user:late"] = TrainedEdit(key="user:late", entry=self.entry, folder=self.visitor.root)
        return getattr(self.entry, name)


def test_listing_edits_while_one_is_added_does_not_fail(context, tmp_path):
    entry = next(iter(context.registry.values()))
    visitor = Visitor(tmp_path)
    visitor.trained["user:first"] = TrainedEdit(key="user:first", entry=_SneakyEntry(visitor, entry), folder=tmp_path)
    values = [value for _, value in context.catalogue.choices(visitor)]
    assert "user:first" in values and "user:late" not in values  # a snapshot from before the addition
    assert list(visitor.trained) == ["user:first", "user:late"]
    del visitor.trained["user:late"]
    visitor.trained["user:first"].entry.fired = False
    assert "feat-gallery" in context.catalogue.gallery_html(visitor)


def test_a_preview_never_covers_the_full_size_photo():
    renders = Renders()
    older = renders.start(("strength", 0.5), full=False)
    assert not renders.stale(older, ("strength", 0.5))
    renders.start(("strength", 0.7), full=True)  # released: the full-size photo starts
    assert renders.stale(older, ("strength", 0.5)), "a preview from before the release is dropped"
    late = renders.start(("strength", 0.7), full=False)  # the page's last preview, sent after the release
    assert renders.stale(late, ("strength", 0.7)), "same settings as the full-size photo: dropped"
    newer = renders.start(("strength", 0.9), full=False)  # the visitor drags again
    assert not renders.stale(newer, ("strength", 0.9))


def test_a_result_for_another_photo_than_the_page_s_is_not_shown():
    renders = Renders()
    assert renders.shows("/tmp/a.jpg"), "nothing recorded yet: shown"
    renders.new_photo("/tmp/a.jpg")
    assert renders.shows("/tmp/a.jpg")
    renders.new_photo("/tmp/b.png")  # the visitor gives another photo while an edit of a.jpg runs
    assert not renders.shows("/tmp/a.jpg") and renders.shows("/tmp/b.png")
    renders.new_photo(None)  # the visitor removed the photo
    assert not renders.shows("/tmp/b.png")
