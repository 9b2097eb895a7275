"""Hub settings read from the environment at call time, and feat-space's own cache folder.

huggingface_hub reads HF_ENDPOINT, HF_HOME and HF_HUB_OFFLINE once, when it is imported; reading them
again here means a setting made later in the process (a test, a launcher script) is still honoured.
Unset variables defer to huggingface_hub's own defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import constants

from .. import env

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class HubSettings:
    endpoint: str  # e.g. https://huggingface.co, or a mirror / test server via HF_ENDPOINT
    cache_dir: Path  # the hub cache (HF_HUB_CACHE, else HF_HOME/hub)
    offline: bool  # HF_HUB_OFFLINE: use the cache only, never the network


def hub_settings() -> HubSettings:
    env = os.environ
    endpoint = (env.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")
    if env.get("HF_HUB_CACHE"):
        cache_dir = Path(env["HF_HUB_CACHE"])
    elif env.get("HF_HOME"):
        cache_dir = Path(env["HF_HOME"]) / "hub"
    else:
        cache_dir = Path(constants.HF_HUB_CACHE)
    offline_env = env.get("HF_HUB_OFFLINE")
    offline = offline_env.strip().lower() in _TRUE if offline_env is not None else bool(constants.HF_HUB_OFFLINE)
    return HubSettings(endpoint=endpoint, cache_dir=cache_dir.expanduser(), offline=offline)


def feat_cache_dir() -> Path:
    """feat-space's own cache (verified digests, tiny-profile weights): FEAT_CACHE, else
    $XDG_CACHE_HOME/feat_space, else ~/.cache/feat_space."""
    configured = env.CACHE.get()
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "feat_space"


__all__ = ["HubSettings", "feat_cache_dir", "hub_settings"]
