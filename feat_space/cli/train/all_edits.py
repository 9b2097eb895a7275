"""`train --all`: every unpublished registry edit, trained here one after another or as Hugging Face
Jobs side by side (one job each), ending with a summary table."""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import FeatError, first_line
from ...registry.registry import edits_dir, load_registry, yaml_files
from ...registry.schema import default_repo
from ..base import INTERRUPTED
from . import TRAINED_DIR, edits_yaml
from .options import Target, TrainOptions

if TYPE_CHECKING:
    from ...jobs.remote import RemoteTraining
    from ...registry.schema import EditEntry


@dataclass
class Row:
    name: str
    where: str  # a job's URL or a local folder
    outcome: str = "not started"
    detail: str = ""


def summary_table(rows: list[Row]) -> str:
    header = ("edit", "outcome", "where", "result")
    cells = [header, *[(r.name, r.outcome, r.where, r.detail) for r in rows]]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(len(header))).rstrip() for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _unpublished(options: TrainOptions) -> tuple[list[EditEntry], dict[str, Path]]:
    from .local import with_overrides

    files = {path.stem: path for path in yaml_files([edits_dir()])}
    entries = [with_overrides(e, options) for e in load_registry(files.values()).values() if not e.published]
    return entries, files


def train_all(options: TrainOptions) -> int:
    if options.publish and "/" in options.publish:
        raise FeatError(
            f"With --all, --publish takes an owner (each edit goes to {default_repo('<owner>', '<name>')}), "
            f"not {options.publish!r}."
        )
    entries, files = _unpublished(options)
    if not entries:
        print(f"Every edit in {edits_dir()} is published: nothing to train.")
        return 0
    names = ", ".join(e.name for e in entries)
    print(f"{len(entries)} unpublished edit(s): {names}")
    rows, interrupted = _on_jobs(options, entries, files) if options.on == "hf-jobs" else _here(options, entries)
    print("\n" + summary_table(rows))
    if interrupted:
        return INTERRUPTED  # as a single `train` stopped by Ctrl-C
    return 0 if all(r.outcome in ("published", "downloaded", "trained") for r in rows) else 1


def _repo(options: TrainOptions, entry: EditEntry) -> str | None:
    """Where --all publishes `entry`: <owner>/feat-<name> (None: not publishing)."""
    return default_repo(options.publish, entry.name) if options.publish else None


def _here(options: TrainOptions, entries: list[EditEntry]) -> tuple[list[Row], bool]:
    from .local import train_here

    rows = [Row(entry.name, f"{TRAINED_DIR / entry.name}/") for entry in entries]
    for entry, row in zip(entries, rows, strict=True):
        publish = _repo(options, entry)
        try:
            code = train_here(options, Target(entry, TRAINED_DIR / entry.name, publish, edits_yaml(entry.name)))
        except FeatError as e:
            row.outcome, row.detail = "failed", first_line(e)
            continue
        except KeyboardInterrupt:  # while the models load or the edit uploads: the table still shows
            code = INTERRUPTED
        if code == INTERRUPTED:  # Ctrl-C stops the whole run, not just this edit
            row.outcome, row.detail = "stopped", "resume with --resume"
            return rows, True
        row.outcome = ("published" if publish else "trained") if code == 0 else "failed"
        row.detail = publish or ""
    return rows, False


def _on_jobs(options: TrainOptions, entries: list[EditEntry], files: dict[str, Path]) -> tuple[list[Row], bool]:
    from ...jobs.client import HubJobs, JobFailed
    from .on_jobs import ask_to_cancel, describe, remote_for

    jobs = HubJobs()
    remotes: list[tuple[RemoteTraining, Row]] = []
    rows: list[Row] = []
    for entry in entries:
        remote = remote_for(options, jobs, entry, _repo(options, entry))
        row = Row(entry.name, "")
        try:
            job_id = remote.start()
        except FeatError as e:
            row.outcome, row.detail = "not started", first_line(e)
        else:
            row.where, row.outcome = jobs.url(job_id), "running"
            print(f"[{entry.name}] started job {job_id}: {row.where}", flush=True)
            remotes.append((remote, row))
        rows.append(row)
    print_lock = threading.Lock()

    def follow(remote: RemoteTraining, row: Row) -> None:
        try:
            for event in remote.events():
                line = describe(event, prefix=f"[{row.name}] ")
                if line:
                    with print_lock:
                        print(line, flush=True)
            if options.publish:
                done = remote.finish(yaml_path=files.get(row.name, edits_yaml(row.name)))
                row.outcome, row.detail = "published", f"{done.published.repo_id}@{done.published.revision[:12]}"
            else:
                folder = TRAINED_DIR / row.name
                remote.finish(download_to=folder)
                row.outcome, row.detail = "downloaded", f"{folder}/"
        except JobFailed as e:
            row.outcome, row.detail = "failed", first_line(e)
        except FeatError as e:
            row.outcome, row.detail = "error", first_line(e)

    threads = [threading.Thread(target=follow, args=pair, daemon=True) for pair in remotes]
    for t in threads:
        t.start()
    interrupted = False
    try:
        for t in threads:
            while t.is_alive():
                t.join(0.2)
    except KeyboardInterrupt:
        interrupted = True
        running = [(remote, row) for remote, row in remotes if row.outcome == "running"]
        if running and ask_to_cancel(f"the {len(running)} running job(s)"):
            for remote, row in running:
                try:
                    remote.cancel()
                    row.outcome = "canceled"
                except FeatError as e:
                    row.detail = f"cancel failed: {first_line(e)}"
        else:
            for _, row in running:
                row.outcome = "left running"
        print("(interrupted)", file=sys.stderr)
    return rows, interrupted
