"""`train`'s command line as typed values, read from argparse once at the boundary (`TrainOptions`),
and one edit to train with where it goes (`Target`): what the single-edit path and `--all` share."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ...weights.profiles import Profile
from ..base import profile_of

if TYPE_CHECKING:
    from ...registry.schema import EditEntry

Where = Literal["local", "hf-jobs"]


@dataclass(frozen=True)
class TrainOptions:
    """The `train` options. Each field is read from the parser's option of the same name, so a new flag
    is one `add_argument` and one field here."""

    # what to train: exactly one of the first four
    yaml: Path | None
    prompt: str | None
    all: bool
    entry_env: str | None  # a job's side: the entry travels in this environment variable
    region: str | None
    name: str | None
    steps: int | None
    threshold: float | None
    # training here
    output: Path | None
    resume: bool
    every: int
    progress_lines: bool  # a job's side: progress as `training.report` lines
    profile: Profile
    # where, and publishing
    on: Where
    publish: str | None
    private: bool
    probe: int | None  # `--probe N`: print the loss terms' balance over N steps, train nothing
    # Hugging Face Jobs
    flavor: str
    timeout: str
    image: str
    code: str | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> TrainOptions:
        values = {f.name: getattr(args, f.name) for f in fields(cls) if f.name != "profile"}
        return cls(**values, profile=profile_of(args))

    @property
    def sources(self) -> int:
        """How many of the ways to name the edit were given (one is required)."""
        return sum(map(bool, (self.yaml, self.prompt, self.all, self.entry_env)))


@dataclass(frozen=True)
class Target:
    """One edit to train and where its result goes."""

    entry: EditEntry
    output: Path  # the checkpoint folder
    publish: str | None = None  # the Hub repo to upload to
    pin: Path | None = None  # the registry YAML to pin to the upload (None: none, as in a job)


__all__ = ["Target", "TrainOptions", "Where"]
