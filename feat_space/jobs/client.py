"""Talking to Hugging Face Jobs with the user's own token: submit, watch, cancel, and plain errors.

Every call goes through `huggingface_hub.HfApi` at the configured endpoint (`HF_ENDPOINT`, read at
call time). Failures a person can fix become `JobsError`s that say how: no token → log in; 401 → a
token that may run jobs; unreachable → the network or HF_ENDPOINT.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import httpx2
from huggingface_hub import HfApi, get_token
from huggingface_hub.errors import HfHubHTTPError

from ..errors import FeatError
from ..training.report import ProgressReport, ResultReport, parse_line
from ..training.run import USABLE_OUTCOMES
from ..weights.settings import hub_settings
from .spec import TrainingJob

LOGIN_HINT = "log in with `hf auth login`, or set HF_TOKEN to a token with write access"
TERMINAL = ("COMPLETED", "CANCELED", "ERROR", "DELETED")
TAIL_LINES = 20
POLL_SECONDS = 5.0  # between status reads while a job is scheduled, and after its log ends
T = TypeVar("T")


class JobsError(FeatError):
    """Jobs could not be used (no login, refused token, unreachable Hub)."""


class JobFailed(FeatError):
    """The job ended without a usable edit; the message carries its last log lines."""

    def __init__(self, message: str, tail: list[str] | None = None) -> None:
        self.tail = tail or []
        lines = "\n".join(f"  | {line}" for line in self.tail)
        super().__init__(f"{message}\nLast lines of its log:\n{lines}" if self.tail else message)


@dataclass(frozen=True)
class Stage:
    """The job's stage changed (SCHEDULING, RUNNING, COMPLETED, ERROR, CANCELED)."""

    stage: str
    message: str | None = None


@dataclass(frozen=True)
class LogLine:
    text: str


JobEvent = Stage | LogLine | ProgressReport | ResultReport


@dataclass
class Watch:
    """What following a job has seen so far."""

    job_id: str
    stage: str = "SCHEDULING"
    message: str | None = None
    seen: bool = False  # a stage has been read
    progress: ProgressReport | None = None
    result: ResultReport | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))


class HubJobs:
    """The user's Jobs account: `token` (the user's own; for the app, the visitor's OAuth token)."""

    def __init__(
        self, token: str | None = None, poll_seconds: float | None = None, *, stored_login: bool = True
    ) -> None:
        """`stored_login=False`: only `token` may be used, never `hf auth login` or HF_TOKEN (in the app,
        those are the Space owner's, and a job must never run on them)."""
        settings = hub_settings()
        self.endpoint = settings.endpoint
        if settings.offline:
            raise JobsError("HF_HUB_OFFLINE is set: Hugging Face Jobs need the network. Unset it to train on Jobs.")
        found = token or (get_token() if stored_login else None)
        if not found:
            hint = LOGIN_HINT if stored_login else "sign in with Hugging Face (again)"
            raise JobsError(f"Training on Hugging Face Jobs needs your Hugging Face login: {hint}.")
        self.token: str = found
        self.api = HfApi(endpoint=self.endpoint, token=found)
        self.poll_seconds = POLL_SECONDS if poll_seconds is None else poll_seconds
        self.namespace: str = self._call("check your login", lambda: self.api.whoami()["name"])

    def _call(self, doing: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except HfHubHTTPError as e:
            status = e.response.status_code if e.response is not None else None
            if status == 401:
                raise JobsError(f"The Hub refused your token (HTTP 401) to {doing}: {LOGIN_HINT}.") from None
            if status == 402:
                raise JobsError(
                    f"The Hub asks for payment to {doing} (HTTP 402): Jobs are billed to your account; add a "
                    "payment method or credits at https://huggingface.co/settings/billing."
                ) from None
            if status == 403:
                raise JobsError(
                    f"Your token may not {doing} (HTTP 403): it needs the Jobs permission (a fine-grained token with "
                    "“Start and manage Jobs”, or a write token; in a Space, sign in again so that the `jobs` scope "
                    "is granted) and write access to your repos."
                ) from None
            raise JobsError(f"The Hub could not {doing} (HTTP {status}): try again later.") from None
        except (httpx2.HTTPError, OSError) as e:
            raise JobsError(
                f"Cannot reach the Hugging Face Hub at {self.endpoint} to {doing} ({e}). Check your network (and "
                f"HF_ENDPOINT if you set it) and try again; your login is `hf auth login` or HF_TOKEN."
            ) from None

    def submit(self, job: TrainingJob) -> str:
        """Start `job` in the user's namespace; returns its id."""
        info = self._call(
            "start a job", lambda: self.api.run_job(namespace=self.namespace, **job.run_job_kwargs(self.token))
        )
        return info.id

    def space_code(self, space_id: str) -> tuple[str, str]:
        """(git URL, current commit) of a Space's repository: what a job from that Space installs."""
        sha = self._call(f"read the Space {space_id}", lambda: self.api.space_info(space_id).sha)
        if not sha:
            raise JobsError(f"The Hub gave no commit for the Space {space_id}: set FEAT_JOB_CODE (git+<url>@<commit>).")
        return f"{self.endpoint}/spaces/{space_id}", sha

    def url(self, job_id: str) -> str:
        return f"{self.endpoint}/jobs/{self.namespace}/{job_id}"

    def stage(self, job_id: str) -> tuple[str, str | None]:
        info = self._call(
            "read the job's status", lambda: self.api.inspect_job(job_id=job_id, namespace=self.namespace)
        )
        return str(getattr(info.status.stage, "value", info.status.stage)), info.status.message

    def cancel(self, job_id: str) -> None:
        self._call("cancel the job", lambda: self.api.cancel_job(job_id=job_id, namespace=self.namespace))

    def follow(self, watch: Watch) -> Iterator[JobEvent]:
        """Events of the job until it ends: stage changes, then its log (progress parsed), then the end."""
        stage, message = self.stage(watch.job_id)
        yield from self._stage(watch, stage, message)
        while watch.stage == "SCHEDULING":
            time.sleep(self.poll_seconds)
            yield from self._stage(watch, *self.stage(watch.job_id))
        # Read even when it already ended: a short job's result line is in its log.
        lines = self.api.fetch_job_logs(job_id=watch.job_id, namespace=self.namespace, follow=True)
        for line in self._logs(lines):
            report = parse_line(line)
            if isinstance(report, ProgressReport):
                watch.progress = report
            elif isinstance(report, ResultReport):
                watch.result = report
            else:
                watch.tail.append(line)
            yield report if report is not None else LogLine(line)
        # The stage lags a little behind the last log line.
        stage, message = self.stage(watch.job_id)
        yield from self._stage(watch, stage, message)
        while stage not in TERMINAL:
            time.sleep(self.poll_seconds)
            stage, message = self.stage(watch.job_id)
        yield from self._stage(watch, stage, message)

    def _logs(self, lines: Iterable[str]) -> Iterator[str]:
        iterator = iter(lines)
        while True:
            try:
                line = self._call("read the job's logs", lambda: next(iterator, None))
            except JobsError as e:
                # Said, not hidden: the final stage (read next) still tells how the job ended.
                yield f"(the job's log stream broke off: {e} Waiting for the job to end.)"
                return
            if line is None:
                return
            yield line

    @staticmethod
    def _stage(watch: Watch, stage: str, message: str | None) -> Iterator[Stage]:
        if not watch.seen or (stage, message) != (watch.stage, watch.message):
            watch.stage, watch.message, watch.seen = stage, message, True
            yield Stage(stage, message)


def ended_well(watch: Watch) -> ResultReport:
    """The job's result when it produced a usable edit; else `JobFailed` saying why, with its last log lines."""
    tail = list(watch.tail)
    if watch.stage == "CANCELED":
        raise JobFailed(f"Job {watch.job_id} was canceled.", tail)
    if watch.stage != "COMPLETED":
        why = f": {watch.message}" if watch.message else ""
        raise JobFailed(f"Job {watch.job_id} failed ({watch.stage}{why}).", tail)
    result = watch.result
    if result is None:
        raise JobFailed(f"Job {watch.job_id} completed but reported no uploaded edit.", tail)
    if result.outcome not in USABLE_OUTCOMES:
        why = f"its training ended {result.outcome!r}"
        raise JobFailed(f"Job {watch.job_id} completed, but {why}: no usable edit.", tail)
    missing = [key for key in ("repo", "revision") if not result.data.get(key)]
    if missing:
        raise JobFailed(
            f"Job {watch.job_id} completed but its result names no uploaded edit (no {' or '.join(missing)}).", tail
        )
    return result


__all__ = ["HubJobs", "JobEvent", "JobFailed", "JobsError", "LogLine", "Stage", "Watch", "ended_well"]
