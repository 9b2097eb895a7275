"""Settings every test runs under."""

from __future__ import annotations

from typing import Any

import pytest

from feat_space.hosting.storage import DATA_DIR_ENV
from feat_space.session import Session


@pytest.fixture(autouse=True)
def no_persistent_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep nothing across tests: on a host with a writable /data (a Space, a dev box) every AppContext
    would otherwise keep trained edits there. Tests of storage set FEAT_DATA_DIR to a tmp_path."""
    monkeypatch.setenv(DATA_DIR_ENV, "")


@pytest.fixture(scope="session")
def tiny_models() -> dict[str, Any]:
    """The tiny profile's generator, encoder and ArcFace (fp32), built once for the whole run."""
    base = Session("tiny", device="cpu", precision="fp32")
    return {"generator": base.generator, "encoder": base.encoder, "arcface": base.arcface}


@pytest.fixture(scope="module")
def tiny_session(tiny_models: dict[str, Any]) -> Session:
    """`Session("tiny", device="cpu")` for one test module: its own per-photo cache and precision, the
    run's shared models (a bf16 session converts its own copy of the encoder)."""
    return Session("tiny", device="cpu", models=tiny_models)


@pytest.fixture(scope="module")
def tiny_session_fp32(tiny_models: dict[str, Any]) -> Session:
    """`tiny_session` in fp32, for results compared with direct fp32 calls."""
    return Session("tiny", device="cpu", precision="fp32", models=tiny_models)
