"""Settings every test runs under."""

from __future__ import annotations

import pytest

from feat_space.hosting.storage import DATA_DIR_ENV


@pytest.fixture(autouse=True)
def no_persistent_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep nothing across tests: on a host with a writable /data (a Space, a dev box) every AppContext
    would otherwise keep trained edits there. Tests of storage set FEAT_DATA_DIR to a tmp_path."""
    monkeypatch.setenv(DATA_DIR_ENV, "")
