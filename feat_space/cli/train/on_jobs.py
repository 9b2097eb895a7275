"""`train --on hf-jobs`: one edit trained as a Hugging Face Job, followed from its log until it is
published (its YAML pinned) or downloaded. Ctrl-C asks whether to cancel the job."""

from __future__ import annotations

import sys

from ...jobs.client import HubJobs, JobEvent, JobFailed, LogLine, Stage
from ...jobs.code import code_source
from ...jobs.remote import RemoteTraining
from ...registry.schema import EditEntry, default_repo
from ...training.report import ProgressReport, ResultReport, progress_text
from ..base import INTERRUPTED
from . import TRAINED_DIR, edits_yaml
from .options import TrainOptions


def remote_for(options: TrainOptions, jobs: HubJobs, entry: EditEntry, publish: str | None) -> RemoteTraining:
    return RemoteTraining(
        jobs,
        entry,
        code_source(options.code),
        publish=publish,
        private=options.private,
        flavor=options.flavor,
        image=options.image,
        timeout=options.timeout,
        env=job_env(options),
    )


def job_env(options: TrainOptions) -> dict[str, str]:
    """The model profile travels to the job (tiny runs offline, for trying the pipeline out cheaply)."""
    from ...weights.profiles import PROFILE_ENV

    return {PROFILE_ENV: options.profile.name}


def describe(event: JobEvent, prefix: str = "") -> str | None:
    """A line for the terminal, or None for events not worth one."""
    if isinstance(event, Stage):
        return f"{prefix}job {event.stage.lower()}" + (f": {event.message}" if event.message else "")
    if isinstance(event, ProgressReport):
        return progress_text(event, prefix)
    if isinstance(event, ResultReport):
        return f"{prefix}training {event.outcome} after {event.steps} steps"
    if isinstance(event, LogLine):
        return f"{prefix}| {event.text}"
    return None


def ask_to_cancel(what: str) -> bool:
    try:
        answer = input(f"\nCancel {what} on Hugging Face? It keeps running (and billing) otherwise. [y/N] ")
    except (EOFError, KeyboardInterrupt):
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def train_on_jobs(options: TrainOptions, entry: EditEntry) -> int:
    jobs = HubJobs()
    remote = remote_for(options, jobs, entry, options.publish)
    job_id = remote.start()
    print(f"Started job {job_id} ({remote.job.describe()})")
    print(f"Follow it at {jobs.url(job_id)} (Ctrl-C asks whether to cancel).")
    try:
        for event in remote.events():
            line = describe(event)
            if line:
                print(line, flush=True)
    except KeyboardInterrupt:
        if ask_to_cancel(f"job {job_id}"):
            remote.cancel()
            print(f"Canceled job {job_id}.")
            return INTERRUPTED
        print(f"Job {job_id} keeps running: {jobs.url(job_id)} (`hf jobs logs {job_id}` follows it).")
        return INTERRUPTED
    try:
        if options.publish:
            yaml_path = options.yaml or edits_yaml(entry.name)
            done = remote.finish(yaml_path=yaml_path)
            print(f"Published to {done.published.url} (commit {done.published.revision}); pinned {yaml_path}.")
        else:
            folder = options.output or TRAINED_DIR / entry.name
            done = remote.finish(download_to=folder)
            print(
                f"Downloaded the edit into {folder}/ (uploaded privately to {done.published.repo_id} by the job). "
                f"Publish: python -m feat_space publish {folder} --repo {default_repo('<you>', entry.name)}"
            )
    except JobFailed as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0
