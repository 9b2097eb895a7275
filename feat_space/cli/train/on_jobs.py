"""`train --on hf-jobs`: one edit trained as a Hugging Face Job, followed from its log until it is
published (its YAML pinned) or downloaded. Ctrl-C asks whether to cancel the job."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ...jobs.client import HubJobs, JobEvent, JobFailed, LogLine, Stage
from ...jobs.code import code_source
from ...jobs.remote import RemoteTraining
from ...registry.registry import edits_dir
from ...registry.schema import EditEntry, default_repo
from ...training.report import ProgressReport, ResultReport, progress_text
from ..base import INTERRUPTED
from . import TRAINED_DIR


def remote_for(args: argparse.Namespace, jobs: HubJobs, entry: EditEntry, publish: str | None) -> RemoteTraining:
    return RemoteTraining(
        jobs,
        entry,
        code_source(args.code),
        publish=publish,
        private=args.private,
        flavor=args.flavor,
        image=args.image,
        timeout=args.timeout,
        env=job_env(args),
    )


def job_env(args: argparse.Namespace) -> dict[str, str]:
    """The model profile travels to the job (tiny runs offline, for trying the pipeline out cheaply)."""
    from ...weights.profiles import PROFILE_ENV
    from ..base import profile_of

    return {PROFILE_ENV: profile_of(args).name}


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


def train_on_jobs(args: argparse.Namespace, entry: EditEntry) -> int:
    jobs = HubJobs()
    remote = remote_for(args, jobs, entry, args.publish)
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
        if args.publish:
            yaml_path = Path(args.yaml) if args.yaml else edits_dir() / f"{entry.name}.yaml"
            done = remote.finish(yaml_path=yaml_path)
            print(f"Published to {done.published.url} (commit {done.published.revision}); pinned {yaml_path}.")
        else:
            folder = args.output or TRAINED_DIR / entry.name
            done = remote.finish(download_to=folder)
            print(
                f"Downloaded the edit into {folder}/ (uploaded privately to {done.published.repo_id} by the job). "
                f"Publish: python -m feat_space publish {folder} --repo {default_repo('<you>', entry.name)}"
            )
    except JobFailed as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0
