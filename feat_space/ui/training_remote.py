"""Training on Hugging Face Jobs from the Train tab, on the signed-in visitor's own account.

Only the visitor's OAuth token is used (never HF_TOKEN or the Space's secrets): the job runs in their
namespace, billed to them, installs this Space's repository at its current commit (`jobs.code`),
uploads the edit privately to `<visitor>/feat-<name>`, and the app downloads it from there into the
visitor's edits. Progress comes from the job's log (no preview images travel back). Stop cancels the job.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator

import gradio as gr

from ..errors import FeatError
from ..jobs.client import HubJobs, LogLine, Stage
from ..jobs.code import code_source
from ..jobs.remote import RemoteTraining
from ..jobs.spec import DEFAULT_FLAVOR, FLAVORS
from ..registry.drafts import write_draft
from ..training.report import ProgressReport, ResultReport
from .catalogue import user_value
from .context import AppContext
from .errors import errors_as_text
from .state import TrainedEdit, Visitor
from .training_form import training_entry
from .training_turn import SKIP_PLOTS, add_trained, begin, end, finish_update, new_edit_folder, status_only
from .training_view import loss_frames, progress_status

# The job each visitor is following, so that Stop cancels it at once: a job can be silent for
# minutes (scheduling, installing), and the handler only looks at the stop request between events.
_running: dict[int, RemoteTraining] = {}
_running_lock = threading.Lock()


def cancel_job_of(visitor: Visitor) -> bool:
    """Cancel the job `visitor` is following, if any; True when there was one."""
    with _running_lock:
        remote = _running.get(id(visitor))
    if remote is None or remote.job_id is None:
        return False
    remote.cancel()
    return True


def make_jobs_handler(ctx: AppContext) -> Callable[..., Iterator[tuple]]:
    @errors_as_text(status_only)
    def train_on_jobs(
        prompt: str,
        name: str | None,
        region: str,
        steps: float,
        base: str | None,
        threshold: float,
        flavor: str | None,
        request: gr.Request,
        oauth_token: gr.OAuthToken | None,
    ):
        if oauth_token is None:
            raise FeatError(
                "Sign in with Hugging Face first (the button above): the job runs on your account and is billed to it."
            )
        entry = training_entry(ctx, prompt, name, region, int(steps), base, threshold)
        if (flavor or DEFAULT_FLAVOR) not in FLAVORS:
            raise FeatError(f"Choose a GPU from the list ({', '.join(FLAVORS)}).")
        visitor = ctx.visitors.get(request)
        begin(visitor)
        skip = gr.skip()
        try:
            jobs = HubJobs(token=oauth_token.token, stored_login=False)
            space = os.environ.get("SPACE_ID")
            code = code_source(space=jobs.space_code(space) if space else None)
            remote = RemoteTraining(jobs, entry, code, flavor=flavor or DEFAULT_FLAVOR)
            job_id = remote.start()
            with _running_lock:
                _running[id(visitor)] = remote
            link = f"[job {job_id[:8]}]({jobs.url(job_id)})"
            yield status_only(f"Started {link} on **{remote.job.flavor}** in your account ({jobs.namespace}).")
            history: list[dict[str, float]] = []
            stage = "SCHEDULING"
            for event in remote.events():
                if visitor.stop.is_set():
                    remote.cancel()  # a no-op when Stop's own handler canceled it already
                    yield status_only(f"Canceled {link}: nothing was trained.")
                    return
                if isinstance(event, Stage):
                    stage = event.stage
                    status = f"{link}: {stage.lower()}" + (f" ({event.message})" if event.message else "")
                    if stage == "RUNNING" and not history:
                        status += " · installing feat-space and loading the models…"
                    yield status_only(status + ". **Stop** cancels it.")
                elif isinstance(event, ProgressReport):
                    history.append({"step": event.step, **event.losses})
                    status = progress_status(f"{link} on {remote.job.flavor}", event, "cancels the job")
                    yield status, *loss_frames(history, entry.training), *[skip] * 5
                elif isinstance(event, (ResultReport, LogLine)):
                    continue  # the result is read by `finish`; other lines stay in the job's log
            folder = new_edit_folder(visitor, entry.name)
            try:
                done = remote.finish(download_to=folder)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            key = user_value(entry.name)
            # Kept unpublished here: the job's upload is private; "Publish to Hub" makes a public one.
            # On disk too: a saved edit is restored from its draft after a restart.
            unpinned = done.entry.model_copy(update={"checkpoint": entry.checkpoint})
            write_draft(folder, unpinned)
            add_trained(visitor, TrainedEdit(key=key, entry=unpinned, folder=folder, steps_done=done.steps_done))
            status = (
                f"**Done.** {link} trained “{entry.title}” ({done.steps_done} steps): it is in your edits "
                f"on the **Edit** tab as “★ {entry.title}”. The job uploaded it privately to "
                f"[{done.published.repo_id}]({jobs.endpoint}/{done.published.repo_id}); export its YAML or publish "
                "it below."
            )
            yield status, *[skip] * SKIP_PLOTS, skip, skip, *finish_update(ctx, visitor, key)
        finally:
            with _running_lock:
                _running.pop(id(visitor), None)
            end(visitor)

    return train_on_jobs
