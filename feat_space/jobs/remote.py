"""A whole training on Hugging Face Jobs, for the command line and the app alike.

`RemoteTraining` submits one registry entry as a job (`spec.TrainingJob`) in the user's namespace,
follows it (`client.HubJobs.follow`), and finishes with the edit where the user asked for it:
published to `repo` and its registry YAML pinned to the upload's commit, or (no publishing) uploaded
privately to `<you>/feat-<name>` by the job and downloaded from there into a local folder.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..editing.storage import CONFIG_NAME, TRAINING_LOG, WEIGHTS_NAME
from ..registry.drafts import entry_data, trained_entry, write_draft
from ..registry.publishing import Published, pin_in_registry
from ..registry.schema import EditEntry, default_repo
from ..weights.download import hub_download
from ..weights.sources import ModelSource
from .client import HubJobs, JobEvent, Watch, ended_well
from .code import CodeSource
from .spec import DEFAULT_FLAVOR, DEFAULT_IMAGE, DEFAULT_TIMEOUT, TrainingJob


@dataclass(frozen=True)
class RemoteEdit:
    entry: EditEntry  # as trained, its checkpoint pinned to the upload
    published: Published
    yaml_path: Path | None  # the registry YAML pinned (publishing)
    folder: Path | None  # the downloaded edit folder (config.json, model.safetensors, training.json, edit.yaml)
    steps_done: int  # as the job's training reported them


class RemoteTraining:
    def __init__(
        self,
        jobs: HubJobs,
        entry: EditEntry,
        code: CodeSource,
        *,
        publish: str | None = None,
        private: bool = False,
        flavor: str = DEFAULT_FLAVOR,
        image: str = DEFAULT_IMAGE,
        timeout: str = DEFAULT_TIMEOUT,
        env: dict[str, str] | None = None,
    ) -> None:
        self.jobs, self.entry = jobs, entry
        self.publishing = publish is not None
        self.job = TrainingJob(
            entry,
            repo_id=publish or default_repo(jobs.namespace, entry.name),
            code=code,
            # Not publishing, the upload is only the way back to the user: private whatever they asked.
            private=private or not self.publishing,
            flavor=flavor,
            image=image,
            timeout=timeout,
            env=dict(env or {}),
        )
        self.watch: Watch | None = None
        self.canceled = False
        self._cancel_lock = threading.Lock()

    @property
    def job_id(self) -> str | None:
        return self.watch.job_id if self.watch else None

    def start(self) -> str:
        self.watch = Watch(self.jobs.submit(self.job))
        return self.watch.job_id

    def events(self) -> Iterator[JobEvent]:
        assert self.watch is not None, "start() first"
        yield from self.jobs.follow(self.watch)

    def cancel(self) -> None:
        """Cancel the job, once: Stop's handler and the loop following the job may both ask, and the
        Hub need not accept a second cancel of a canceled job."""
        with self._cancel_lock:
            if self.watch is None or self.canceled:
                return
            self.jobs.cancel(self.watch.job_id)
            self.canceled = True

    def finish(self, *, yaml_path: Path | None = None, download_to: Path | None = None) -> RemoteEdit:
        """After the job ended: pin `yaml_path` (publishing) and/or download the edit into `download_to`.
        Raises `JobFailed` (with the job's last log lines) when the job did not produce an edit."""
        assert self.watch is not None, "start() first"
        result = ended_well(self.watch)
        data = result.data
        published = Published(str(data["repo"]), str(data["revision"]), str(data.get("url") or data["repo"]))
        trained = trained_entry(self.entry, result.steps)
        pinned = EditEntry.model_validate(
            {
                **entry_data(trained),
                "checkpoint": {"status": "published", "repo": published.repo_id, "revision": published.revision},
            }
        )
        if yaml_path is not None:
            pin_in_registry(yaml_path, published, defaults=entry_data(trained))
        folder = None
        if download_to is not None:
            folder = self._download(published, download_to)
            write_draft(folder, pinned)
        return RemoteEdit(pinned, published, yaml_path, folder, result.steps)

    def _download(self, published: Published, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        # Into the folder, not the shared Hub cache: the upload is private to the user (in the app, a
        # visitor whose files are deleted with their session). The staging folder takes huggingface_hub's
        # own bookkeeping (.cache/), which is no part of the edit.
        staging = folder / ".download"
        try:
            for filename in (CONFIG_NAME, WEIGHTS_NAME, TRAINING_LOG):
                # The commit hash names the content exactly: no sha256 to check beyond git's own.
                source = ModelSource(published.repo_id, published.repo_id, filename, published.revision, None, False)
                path = hub_download(source, token=self.jobs.token, local_dir=staging)
                os.replace(path, folder / filename)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return folder


__all__ = ["RemoteEdit", "RemoteTraining"]
