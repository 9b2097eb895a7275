"""Model downloads: the real huggingface_hub code path against a local Hub, pins, checksums, offline."""

from __future__ import annotations

import hashlib
import warnings

import pytest
from hub_server import HubServer
from huggingface_hub import constants
from huggingface_hub.utils import _http as hf_http

from feat_space import cli
from feat_space.errors import FeatError
from feat_space.weights import (
    REAL_PROFILE,
    SOURCES,
    ChecksumError,
    ModelAccessError,
    ModelNotFoundError,
    ModelOfflineError,
    ModelSource,
    UnpinnedSourceWarning,
    commit_of,
    fetch,
    file_sha256,
    sources,
)
from feat_space.weights import download as download_module
from feat_space.weights.pins import resolve_pin

CONTENT = b"weights " * 4096
REPO, FILE = "someone/face-models", "model_ir_se50.pth"


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A fresh HF_HOME and feat cache, online, no token."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("FEAT_CACHE", str(tmp_path / "feat"))
    for name in ("HF_HUB_CACHE", "HF_HUB_OFFLINE", "HF_TOKEN", "HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    return tmp_path


@pytest.fixture
def hub(env, monkeypatch):
    with HubServer() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


def pinned(commit: str, content: bytes = CONTENT, filename: str = FILE, repo: str = REPO) -> ModelSource:
    return ModelSource(
        name="test",
        repo_id=repo,
        filename=filename,
        revision=commit,
        sha256=hashlib.sha256(content).hexdigest(),
        pinned=True,
    )


def test_downloads_into_hf_home_and_verifies(hub, env):
    commit = hub.add_file(REPO, FILE, CONTENT)
    path = fetch(pinned(commit))
    assert path.read_bytes() == CONTENT
    assert (env / "hf" / "hub") in path.parents  # HF_HOME honoured
    assert commit_of(path) == commit
    assert ("GET", f"/{REPO}/resolve/{commit}/{FILE}") in hub.requests


def test_file_names_are_quoted(hub):
    name = "InsightFace_Pytorch+model_ir_se50.pth"  # the ArcFace source's real name
    commit = hub.add_file(REPO, name, CONTENT)
    assert fetch(pinned(commit, filename=name)).read_bytes() == CONTENT


def test_corrupt_download_is_refused_with_the_fix(hub):
    commit = hub.add_file(REPO, FILE, CONTENT)
    hub.corrupt(REPO, FILE)
    with pytest.raises(ChecksumError) as info:
        fetch(pinned(commit))
    message = str(info.value)
    assert REPO in message and FILE in message and commit in message
    assert "python -m feat_space download --force" in message
    assert isinstance(info.value, FeatError)


def test_force_replaces_a_corrupt_cached_file(hub):
    commit = hub.add_file(REPO, FILE, CONTENT)
    path = fetch(pinned(commit))
    path.resolve().chmod(0o644)
    path.resolve().write_bytes(b"x" * len(CONTENT))  # damaged on disk after a good download
    with pytest.raises(ChecksumError):
        fetch(pinned(commit))
    assert fetch(pinned(commit), force=True).read_bytes() == CONTENT


def test_offline_with_an_empty_cache_says_how_to_fix_it(hub, monkeypatch):
    commit = hub.add_file(REPO, FILE, CONTENT)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelOfflineError) as info:
        fetch(pinned(commit))
    message = str(info.value)
    assert REPO in message and FILE in message
    assert "python -m feat_space download" in message and "HF_HUB_OFFLINE" in message
    assert hub.requests == []  # offline means no network at all


def test_offline_mode_set_before_import_is_honoured(hub, monkeypatch):
    commit = hub.add_file(REPO, FILE, CONTENT)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # what HF_HUB_OFFLINE=1 at start-up does
    with pytest.raises(ModelOfflineError):
        fetch(pinned(commit))
    assert hub.requests == []


@pytest.mark.parametrize("revision", ["pinned", "main"])
def test_offline_with_a_warm_cache_works(hub, monkeypatch, revision):
    commit = hub.add_file(REPO, FILE, CONTENT)
    source = pinned(commit)
    if revision == "main":
        source = ModelSource("test", REPO, FILE, "main", source.sha256, pinned=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnpinnedSourceWarning)
        online = fetch(source)
        hub.requests.clear()
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        assert fetch(source) == online
    assert hub.requests == []


def test_unreachable_hub_is_named(env, monkeypatch):
    server = HubServer().start()
    url = server.url
    server.stop()  # nothing listens there any more
    monkeypatch.setenv("HF_ENDPOINT", url)
    # huggingface_hub retries a refused connection with backoff (~25 s in all); skip the waiting.
    monkeypatch.setattr(hf_http.time, "sleep", lambda seconds: None)
    with pytest.raises(ModelOfflineError) as info:
        fetch(pinned("0" * 40))
    message = str(info.value)
    assert url in message and REPO in message and FILE in message
    assert "python -m feat_space download" in message


@pytest.mark.parametrize(
    ("what", "expected"),
    [("repo", "does not exist"), ("revision", "has no revision"), ("file", "has no such file")],
)
def test_missing_repo_revision_or_file(hub, what, expected):
    commit = hub.add_file(REPO, FILE, CONTENT)
    source = pinned(commit)
    source = {
        "repo": ModelSource("test", "someone/missing", FILE, commit, source.sha256, pinned=True),
        "revision": ModelSource("test", REPO, FILE, "f" * 40, source.sha256, pinned=True),
        "file": ModelSource("test", REPO, "other.pth", commit, source.sha256, pinned=True),
    }[what]
    with pytest.raises(ModelNotFoundError) as info:
        fetch(source)
    message = str(info.value)
    assert expected in message and source.repo_id in message and source.filename in message


def test_gated_repo_needs_a_token(hub, monkeypatch):
    commit = hub.add_file(REPO, FILE, CONTENT, token="hf_secret")
    with pytest.raises(ModelAccessError, match="HF_TOKEN"):
        fetch(pinned(commit))
    monkeypatch.setenv("HF_TOKEN", "hf_secret")  # huggingface_hub reads it per request
    assert fetch(pinned(commit)).read_bytes() == CONTENT


def test_unpinned_source_warns_with_what_to_pin(hub):
    commit = hub.add_file(REPO, FILE, CONTENT)
    source = ModelSource("test", REPO, FILE, "main", None, pinned=False)
    with pytest.warns(UnpinnedSourceWarning) as record:
        path = fetch(source)
    assert path.read_bytes() == CONTENT
    message = str(record[0].message)
    assert commit in message and hashlib.sha256(CONTENT).hexdigest() in message and "UNPINNED" in message


def test_digest_is_remembered_until_the_file_changes(hub, monkeypatch):
    commit = hub.add_file(REPO, FILE, CONTENT)
    path = fetch(pinned(commit))
    calls = []
    real_hash = download_module.hash_file
    monkeypatch.setattr(download_module, "hash_file", lambda p: calls.append(p) or real_hash(p))
    download_module.forget_digests()  # a new process: only the on-disk record is left
    fetch(pinned(commit))
    assert calls == []
    blob = path.resolve()
    blob.chmod(0o644)
    blob.write_bytes(CONTENT[::-1])
    assert file_sha256(path) == hashlib.sha256(CONTENT[::-1]).hexdigest()
    assert len(calls) == 1


def test_pin_resolves_commit_and_sha256(hub):
    commit = hub.add_file(REPO, FILE, CONTENT)
    source = ModelSource("test", REPO, FILE, "main", None, pinned=False)
    pin = resolve_pin(source)
    assert (pin.commit, pin.sha256, pin.size, pin.how) == (
        commit,
        hashlib.sha256(CONTENT).hexdigest(),
        len(CONTENT),
        "lfs-etag",
    )
    verified = resolve_pin(source, verify=True)
    assert verified.sha256 == pin.sha256 and verified.how.startswith("download")
    assert commit in pin.entry() and pin.sha256 in pin.entry()


def test_download_command_fetches_everything(hub, monkeypatch, capsys):
    files = {"e4e": b"e4e" * 100, "arc": b"arc" * 100, "clip": b"clip" * 100}
    fake = {}
    for name, content in files.items():
        commit = hub.add_file(f"org/{name}", f"{name}.pt", content)
        fake[name] = pinned(commit, content, f"{name}.pt", f"org/{name}")
    fake["clip"] = ModelSource("clip", "org/clip", "clip.pt", "main", None, pinned=False)
    monkeypatch.setattr(sources, "required_sources", lambda: list(fake.values()))
    monkeypatch.delenv("FEAT_PROFILE", raising=False)
    assert cli.main(["download"]) == 0
    out = capsys.readouterr().out
    assert out.count("ok ") == 3
    assert "UNPINNED" in out and "org/clip" in out  # loud, with what to do
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert cli.main(["download"]) == 0  # everything is cached now


def test_download_command_reports_failures(hub, monkeypatch, capsys):
    missing = ModelSource("gone", "org/gone", "gone.pt", "main", None, pinned=False)
    monkeypatch.setattr(sources, "required_sources", lambda: [missing])
    monkeypatch.delenv("FEAT_PROFILE", raising=False)
    assert cli.main(["download"]) == 1
    assert "org/gone" in capsys.readouterr().err


def test_source_records_demand_full_pins():
    with pytest.raises(ValueError, match="40-hex"):
        ModelSource("x", REPO, FILE, "main", "0" * 64, pinned=True)
    with pytest.raises(ValueError, match="40-hex"):
        ModelSource("x", REPO, FILE, "0" * 40, None, pinned=True)
    with pytest.raises(ValueError, match="sha256"):
        ModelSource("x", REPO, FILE, "0" * 40, "not-a-digest", pinned=False)


def test_catalog_covers_the_real_profile():
    assert set(REAL_PROFILE) == {"generator", "encoder", "arcface", "clip"}
    assert all(name in SOURCES for name in REAL_PROFILE.values())
    # Every unpinned entry says so in its provenance, for whoever reads sources.py.
    assert all(source.pinned or "UNPINNED" in source.provenance for source in SOURCES.values())


def test_clip_source_is_open_clips_own_hub_copy():
    import open_clip

    cfg = open_clip.get_pretrained_cfg("ViT-B-32", "openai")
    assert cfg["hf_hub"].rstrip("/") == SOURCES["clip-vit-b-32-openai"].repo_id
    assert cfg["quick_gelu"] and sources.CLIP_MODEL_NAME in open_clip.list_models()
