"""Every `FEAT_*` environment variable feat-space reads: its name, default and meaning, in one place.

Modules read their variable through its `Setting` here (`PROFILE.get()`), never by a name of their
own, and `feat-space env` prints this table with the values set now. A variable is read when it is
used, not at import, so a setting made later in the process (a test, a launcher) is honoured.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import FeatError


@dataclass(frozen=True)
class Setting:
    """One environment variable: `default` is what applies when it is unset (None: nothing, or
    what `meaning` says is worked out instead)."""

    name: str
    default: str | None
    meaning: str

    def get(self) -> str | None:
        """The value set in the environment, stripped; None when unset or empty."""
        value = os.environ.get(self.name, "").strip()
        return value or None

    def is_set(self) -> bool:
        """Set at all, even to an empty value (for a variable where empty means something)."""
        return self.name in os.environ

    def integer(self, fallback: int | None = None) -> int:
        """The value as a whole number (unset: the default, else `fallback`), or a `FeatError` saying what to set."""
        raw = self.get() or self.default or (str(fallback) if fallback is not None else None)
        try:
            return int(raw or "")
        except ValueError:
            raise FeatError(f"{self.name} must be a whole number, got {raw!r}: {self.meaning}.") from None


PROFILE = Setting("FEAT_PROFILE", "real", "the models: real (downloaded from the Hub) or tiny (untrained, offline)")
DEVICE = Setting("FEAT_DEVICE", None, "where the models run: cpu, cuda, cuda:1… (unset: CUDA when there is a GPU)")
PRECISION = Setting("FEAT_PRECISION", "auto", "inference precision: auto, fp32, bf16 or fp16 (self-checked)")
CACHE = Setting("FEAT_CACHE", None, "feat-space's own cache (unset: $XDG_CACHE_HOME/feat_space or ~/.cache/feat_space)")
EDITS_DIR = Setting(
    "FEAT_EDITS_DIR", None, "the registry folder of edit YAMLs (unset: a checkout's edits/, else the installed copy)"
)
DATA_DIR = Setting(
    "FEAT_DATA_DIR",
    None,
    "the app's persistent storage for visitors' trained edits (unset: /data if writable; empty: none)",
)
STORAGE_SECRET = Setting(
    "FEAT_STORAGE_SECRET", None, "the secret naming accounts' storage folders (unset: one made once per storage)"
)
GPU_CONCURRENCY = Setting("FEAT_GPU_CONCURRENCY", "2", "the app's model handlers running at once")
QUEUE_SIZE = Setting("FEAT_QUEUE_SIZE", "16", "the app's queue length; later visitors are told to retry")
MAX_TRAININGS = Setting("FEAT_MAX_TRAININGS", "1", "trainings the app runs at once")
MAX_TRAIN_STEPS = Setting(
    "FEAT_MAX_TRAIN_STEPS", None, "the most steps a visitor may train in the app (unset: a training's default steps)"
)
JOB_CODE = Setting(
    "FEAT_JOB_CODE", None, "the code a Hugging Face Jobs training runs, git+<url>@<commit> (unset: this checkout's)"
)
EDIT_YAML = Setting("FEAT_EDIT_YAML", None, "set inside a training job: the edit's registry entry, as YAML")
MAX_VIDEO_SECONDS = Setting("FEAT_MAX_VIDEO_SECONDS", "10", "the longest clip the app's Video tab accepts, in seconds")
PINS_FILE = Setting(
    "FEAT_PINS_FILE",
    None,
    "the model pins file (unset: feat_space/weights/pins.json, written by `feat-space models pin`)",
)
OPS_VERBOSE = Setting("FEAT_SPACE_OPS_VERBOSE", "0", "1: show the compiler's output while the CUDA ops build")

SETTINGS = (
    PROFILE,
    DEVICE,
    PRECISION,
    CACHE,
    EDITS_DIR,
    DATA_DIR,
    STORAGE_SECRET,
    GPU_CONCURRENCY,
    QUEUE_SIZE,
    MAX_TRAININGS,
    MAX_TRAIN_STEPS,
    MAX_VIDEO_SECONDS,
    JOB_CODE,
    EDIT_YAML,
    PINS_FILE,
    OPS_VERBOSE,
)


def describe(secret_names: tuple[str, ...] = (STORAGE_SECRET.name, EDIT_YAML.name)) -> str:
    """Each variable with its value now (secrets and long values only said to be set) and meaning."""
    lines = []
    for s in SETTINGS:
        if not s.is_set():
            now = f"unset (default: {s.default})" if s.default is not None else "unset"
        elif s.name in secret_names:
            now = "set (not shown)"
        else:
            now = repr(os.environ[s.name])
        lines.append(f"{s.name}={now}\n    {s.meaning}")
    return "\n".join(lines)


__all__ = [
    "CACHE",
    "DATA_DIR",
    "DEVICE",
    "EDITS_DIR",
    "EDIT_YAML",
    "GPU_CONCURRENCY",
    "JOB_CODE",
    "MAX_TRAININGS",
    "MAX_TRAIN_STEPS",
    "MAX_VIDEO_SECONDS",
    "OPS_VERBOSE",
    "PINS_FILE",
    "PRECISION",
    "PROFILE",
    "QUEUE_SIZE",
    "SETTINGS",
    "STORAGE_SECRET",
    "Setting",
    "describe",
]
