"""Training on Hugging Face Jobs, against a local stand-in of the Jobs API (tests/jobs_server.py):
submission in the user's namespace with their token, status changes, streamed progress, a failing
job, Ctrl-C → cancel, `train --all`, and the clear errors of a missing login or an unreachable Hub."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jobs_server import Job, JobsServer, scripted

from feat_space.cli import main
from feat_space.editing.storage import load_edit_folder
from feat_space.jobs import client as jobs_client
from feat_space.jobs.client import HubJobs, JobFailed, JobsError, Stage, Watch, ended_well
from feat_space.jobs.code import CodeSource, CodeSourceError
from feat_space.jobs.remote import RemoteTraining
from feat_space.jobs.spec import ENTRY_ENV, argv_of
from feat_space.registry.drafts import entry_from_prompt
from feat_space.registry.registry import load_registry
from feat_space.registry.schema import EditEntry
from feat_space.training.report import ProgressReport, ResultReport, parse_line, progress_line, result_line

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "hf_user_token"
CODE = "git+https://example.org/feat-space.git@" + "a" * 40
REVISION = "b" * 40


@pytest.fixture
def hub_env(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    for name in ("HF_HUB_CACHE", "HF_HUB_OFFLINE", "HF_TOKEN", "FEAT_JOB_CODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(jobs_client, "POLL_SECONDS", 0.05)
    return monkeypatch


def serve(hub_env, behaviour, token: str | None = TOKEN) -> JobsServer:
    server = JobsServer(token=TOKEN, user="someone", behaviour=behaviour)
    hub_env.setenv("HF_ENDPOINT", server.url)
    if token:
        hub_env.setenv("HF_TOKEN", token)
    return server


def progress(step: int, total: int = 4) -> str:
    return progress_line(step, total, {"clip": 0.9, "total": 1.0 / step}, 0.25, 0.3, "ok")


def published_result(job: Job, steps: int = 4) -> str:
    argv = argv_of(job.spec["command"])
    repo = argv[argv.index("--publish") + 1]
    return result_line("done", steps, repo=repo, revision=REVISION, url=f"https://hub/{repo}/commit/{REVISION}")


def test_progress_lines_round_trip_and_people_lines_are_skipped():
    report = parse_line(progress_line(3, 10, {"clip": 0.5, "total": 0.6}, 1.5, 0.2, "ok", None))
    assert report == ProgressReport(3, 10, {"clip": 0.5, "total": 0.6}, 1.5, 0.2, "ok", None)
    result = parse_line(result_line("done", 10, repo="a/b", revision=REVISION))
    assert result.outcome == "done" and result.data == {"repo": "a/b", "revision": REVISION}
    assert parse_line("step 3/10 loss 0.5") is None and parse_line('FEAT-PROGRESS {"step": 3') is None


def test_one_progress_format_for_a_training_here_and_a_job_followed():
    from feat_space.cli.train.on_jobs import describe
    from feat_space.training.report import progress_text, report_line
    from feat_space.ui.training_view import progress_status

    report = ProgressReport(3, 10, {"clip": 0.5, "total": 0.6}, 1.5, 0.2, "closing", "the mask is closing")
    assert parse_line(report_line(report)) == report, "a job's line reads back as the report it was"
    text = progress_text(report, "[smile] ")
    assert text.startswith("[smile] step 3/10  clip 0.5000  total 0.6000  | mask 0.200 (closing)")
    assert "1.50 s/step, 0.3 min left" in text and text.endswith("⚠ the mask is closing")
    assert describe(report, "[smile] ") == text, "a job's progress reads as a training here does"
    status = progress_status("Training “x”", report, "keeps what is learned")
    # 7 steps and the judging of the edit after the last (about 5 steps): 18 s.
    assert status.startswith("Training “x”: step **3/10** · total loss 0.6000 · 1.50 s/step · about 18 s left.")
    assert "**Stop** keeps what is learned." in status and "Mask: closing, 20% of the face. ⚠️ the mask" in status
    assert "judged" not in status


def test_the_last_step_says_the_edit_is_judged_next_and_the_estimate_counts_it():
    from feat_space.training.report import JUDGING_STEPS, progress_text
    from feat_space.ui.training_view import progress_status

    last = ProgressReport(9, 10, {"total": 0.6}, 2.0)
    assert last.seconds_left == 2.0 * (1 + JUDGING_STEPS)
    assert "judged on faces it never saw" in progress_status("Training “x”", last, "keeps what is learned")
    assert "judged on faces it never saw" in progress_text(last)
    done = ProgressReport(10, 10, {"total": 0.6}, 2.0)
    assert done.seconds_left == 0 and "judged" not in progress_text(done)


def test_no_login_says_how_to_log_in(hub_env):
    with serve(hub_env, None, token=None):
        with pytest.raises(JobsError, match=r"hf auth login.*HF_TOKEN"):
            HubJobs()
        hub_env.setenv("HF_TOKEN", "hf_wrong")
        with pytest.raises(JobsError, match=r"refused your token \(HTTP 401\).*hf auth login"):
            HubJobs()


def test_an_unreachable_hub_says_so(hub_env):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    hub_env.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    hub_env.setenv("HF_TOKEN", TOKEN)
    with pytest.raises(JobsError, match=r"Cannot reach the Hugging Face Hub at http://127\.0\.0\.1.*hf auth login"):
        HubJobs()
    code = main(["train", "--prompt", "a face with freckles", "--on", "hf-jobs", "--code", CODE])
    assert code == 1


def test_a_job_is_submitted_followed_and_its_yaml_pinned(hub_env, tmp_path):
    def behave(job: Job) -> None:
        scripted("installing", *(progress(s) for s in (1, 2, 3, 4)), published_result(job), pause=0.1)(job)

    with serve(hub_env, behave) as hub:
        jobs = HubJobs()
        entry = entry_from_prompt("a face with freckles", "colour", steps=4)
        remote = RemoteTraining(jobs, entry, CodeSource.parse(CODE), publish="someone/feat-freckles", flavor="t4-small")
        job_id = remote.start()
        events = list(remote.events())
        spec = hub.jobs[job_id].spec
    # Submitted in the user's namespace, running this project's train command on the pinned code.
    assert ("POST", "/api/jobs/someone") in hub.requests
    assert spec["flavor"] == "t4-small" and spec["dockerImage"].startswith("pytorch/pytorch:")
    assert spec["timeoutSeconds"] == 4 * 3600, "the Hub stops a runaway job"
    code = CodeSource.parse(CODE)
    assert spec["command"][4:6] == [code.url, code.commit]  # cloned at that commit, installed with its pins
    assert argv_of(spec["command"])[:3] == ["train", "--entry-env", ENTRY_ENV]
    assert EditEntry.model_validate(yaml.safe_load(spec["environment"][ENTRY_ENV])) == entry
    assert set(spec["secrets"]) == {"HF_TOKEN"} and "HF_TOKEN" not in spec["environment"]
    # Status changes, then progress parsed from the streamed log.
    stages = [e.stage for e in events if isinstance(e, Stage)]
    assert stages[-1] == "COMPLETED" and "RUNNING" in stages
    assert [e.step for e in events if isinstance(e, ProgressReport)] == [1, 2, 3, 4]
    yaml_path = tmp_path / "freckles.yaml"
    done = remote.finish(yaml_path=yaml_path)
    pinned = EditEntry.model_validate(yaml.safe_load(yaml_path.read_text()))
    assert pinned.checkpoint.revision == REVISION and pinned.checkpoint.repo == "someone/feat-freckles"
    assert pinned.training.steps == 4 and done.entry == pinned


def test_a_failing_job_ends_with_its_last_log_lines(hub_env, capsys):
    lines = [progress(1), "Traceback (most recent call last):", "torch.OutOfMemoryError: CUDA out of memory"]
    with serve(hub_env, scripted(*lines, stage="ERROR", message="exit code 1")):
        code = main(["train", "--prompt", "a face with freckles", "--on", "hf-jobs", "--code", CODE, "--steps", "4"])
    err = capsys.readouterr().err
    assert code == 1
    assert "failed (ERROR: exit code 1)" in err and "CUDA out of memory" in err and "Last lines of its log" in err


@pytest.mark.parametrize("answer", ["y", "n"])
def test_ctrl_c_asks_whether_to_cancel_the_job(hub_env, monkeypatch, capsys, answer):
    from feat_space.cli.train import on_jobs as train_jobs

    shown = train_jobs.describe

    def interrupt_on_progress(event, prefix=""):
        if isinstance(event, ProgressReport):
            raise KeyboardInterrupt
        return shown(event, prefix)

    monkeypatch.setattr(train_jobs, "describe", interrupt_on_progress)
    asked = []
    monkeypatch.setattr("builtins.input", lambda question: asked.append(question) or answer)
    endless = scripted(*(progress(s, 1000) for s in range(1, 1000)), pause=0.02)
    with serve(hub_env, endless) as hub:
        code = main(["train", "--prompt", "a face with freckles", "--on", "hf-jobs", "--code", CODE])
        job = next(iter(hub.jobs.values()))
    assert code == 130 and asked and "Cancel job" in asked[0]
    out = capsys.readouterr().out
    if answer == "y":
        assert job.canceled.is_set() and job.stage == "CANCELED" and "Canceled job" in out
    else:
        assert not job.canceled.is_set() and "keeps running" in out and f"/jobs/someone/{job.id}" in out


def registry_of(monkeypatch, tmp_path: Path, *names: str) -> Path:
    """A registry folder holding copies of these edits of the project's, used as the registry."""
    edits = tmp_path / "edits"
    edits.mkdir()
    for name in names:
        (edits / f"{name}.yaml").write_text((ROOT / "edits" / f"{name}.yaml").read_text())
    monkeypatch.setenv("FEAT_EDITS_DIR", str(edits))
    return edits


def test_train_all_runs_one_job_per_unpublished_edit_and_tabulates(hub_env, tmp_path, capsys):
    edits = registry_of(hub_env, tmp_path, "smile", "beard")

    def behave(job: Job) -> None:
        name = json.loads(json.dumps(job.spec["labels"]))["feat-space"]
        if name == "beard":
            return scripted("CUDA error: no kernel image", stage="ERROR", message="exit code 1")(job)
        return scripted(progress(1, 1), published_result(job, steps=1))(job)

    with serve(hub_env, behave) as hub:
        code = main(["train", "--all", "--on", "hf-jobs", "--publish", "someone", "--code", CODE, "--steps", "1"])
    out = capsys.readouterr().out
    assert len(hub.jobs) == 2, "one job each"
    assert code == 1, "one of them failed"
    table = out[out.index("\nedit ") + 1 :]
    assert "smile" in table and "published" in table and "someone/feat-smile@bbbbbbbbbbbb" in table
    assert "beard" in table and "failed" in table
    registry = load_registry([edits])
    assert registry["smile"].published and registry["smile"].checkpoint.revision == REVISION
    assert not registry["beard"].published


def test_code_must_be_pinned_to_a_commit():
    with pytest.raises(CodeSourceError, match="40-character commit"):
        CodeSource.parse("git+https://example.org/feat-space.git@main")


def test_a_job_trains_for_real_and_the_edit_is_downloaded(hub_env, tmp_path):
    """The job's side runs this project's own `train` command (tiny profile) and uploads with the
    user's token; the client then downloads the edit, as when not publishing."""

    def run_the_command(job: Job) -> None:
        job.set_stage("RUNNING")
        env = {
            **os.environ,
            **job.spec["environment"],
            **{k: TOKEN for k in job.spec["secrets"]},
            "PYTHONPATH": str(ROOT),
        }
        argv = argv_of(job.spec["command"])
        argv[argv.index("--output") + 1] = str(tmp_path / "job-output")
        proc = subprocess.Popen(
            [sys.executable, "-m", "feat_space", *argv],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            job.log(line.rstrip("\n"))
        job.set_stage("COMPLETED" if proc.wait() == 0 else "ERROR", f"exit code {proc.returncode}")

    output = tmp_path / "trained"
    with serve(hub_env, run_the_command) as hub:
        hub_env.setenv("FEAT_PROFILE", "tiny")
        args = ["--steps", "2", "--every", "1", "--on", "hf-jobs", "--code", CODE, "--output", str(output)]
        code = main(["train", "--prompt", "a face with freckles", *args])
        job = next(iter(hub.jobs.values()))
    assert code == 0, job.logs[-10:]
    assert job.spec["environment"]["FEAT_PROFILE"] == "tiny", "the profile travels to the job"
    assert hub.repos["someone/feat-a-face-with-freckles"].files.keys() >= {"config.json", "model.safetensors"}
    load_edit_folder(output)  # the downloaded weights load
    draft = EditEntry.model_validate(yaml.safe_load((output / "edit.yaml").read_text()))
    assert draft.published and draft.training.steps == 2 and draft.recipe == entry_from_prompt("x", "colour").recipe
    assert json.loads((output / "training.json").read_text())["steps_trained"] == 2


def test_train_all_here_trains_one_after_another_and_tabulates(monkeypatch, tmp_path, capsys):
    registry_of(monkeypatch, tmp_path, "purple-hair", "red-lipstick")
    monkeypatch.setenv("FEAT_PROFILE", "tiny")
    monkeypatch.chdir(tmp_path)  # trained/<name>/ lands here
    assert main(["train", "--all", "--steps", "1"]) == 0
    out = capsys.readouterr().out
    assert any(line.startswith("step 1/1  clip ") and " s/step, " in line for line in out.splitlines())
    table = out[out.index("\nedit ") + 1 :].splitlines()
    assert table[0].split() == ["edit", "outcome", "where", "result"]
    assert {line.split()[0]: line.split()[1] for line in table[2:]} == {
        "purple-hair": "trained",
        "red-lipstick": "trained",
    }
    assert (tmp_path / "trained" / "purple-hair" / "model.safetensors").is_file()


def test_ctrl_c_stops_train_all_here(monkeypatch, tmp_path, capsys):
    from feat_space.registry.entry_training import EntryTraining

    registry_of(monkeypatch, tmp_path, "purple-hair", "red-lipstick")
    monkeypatch.setenv("FEAT_PROFILE", "tiny")
    monkeypatch.chdir(tmp_path)

    def interrupted(self, stop=None, mask_threshold=None):
        raise KeyboardInterrupt
        yield

    monkeypatch.setattr(EntryTraining, "steps", interrupted)
    assert main(["train", "--all", "--steps", "1"]) == 130, "Ctrl-C's exit code, as a single train"
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1] for line in out[out.index("\nedit ") + 1 :].splitlines()[2:]}
    assert rows == {"purple-hair": "stopped", "red-lipstick": "not"}, "the first is stopped, the rest never start"


def test_ctrl_c_while_the_models_load_still_ends_train_all_here_with_its_table(monkeypatch, tmp_path, capsys):
    import feat_space.session

    registry_of(monkeypatch, tmp_path, "purple-hair")
    monkeypatch.chdir(tmp_path)

    def loading(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(feat_space.session, "Session", loading)
    assert main(["train", "--all", "--steps", "1"]) == 130
    out = capsys.readouterr().out
    assert out[out.index("\nedit ") + 1 :].splitlines()[2].split()[:2] == ["purple-hair", "stopped"]


def test_ctrl_c_during_train_all_on_jobs_exits_130_with_its_table(hub_env, monkeypatch, tmp_path, capsys):
    import signal
    import threading

    registry_of(hub_env, tmp_path, "smile")
    monkeypatch.setattr("builtins.input", lambda question: "y")
    endless = scripted(*(progress(s, 1000) for s in range(1, 1000)), pause=0.02)
    with serve(hub_env, endless) as hub:
        timer = threading.Timer(1.0, signal.raise_signal, (signal.SIGINT,))  # Ctrl-C, in the main thread
        # Ctrl-C raises KeyboardInterrupt as in a terminal, even where this test process inherited SIGINT
        # ignored (a shell's background job).
        interrupted = signal.signal(signal.SIGINT, signal.default_int_handler)
        timer.start()
        try:
            code = main(["train", "--all", "--on", "hf-jobs", "--publish", "someone", "--code", CODE])
        finally:
            timer.cancel()
            signal.signal(signal.SIGINT, interrupted)
    out = capsys.readouterr().out
    assert code == 130
    assert out[out.index("\nedit ") + 1 :].splitlines()[2].split()[:2] == ["smile", "canceled"]
    assert next(iter(hub.jobs.values())).canceled.is_set()


@pytest.mark.parametrize("private", [True, False])
def test_publish_private_on_jobs_creates_a_private_repo(hub_env, tmp_path, private):
    """`--private` reaches the job's own `train --publish` (the job creates the repo)."""
    hub_env.setenv("FEAT_EDITS_DIR", str(tmp_path))
    hub_env.chdir(tmp_path)
    with serve(hub_env, lambda job: scripted(progress(1, 1), published_result(job, steps=1))(job)) as hub:
        flags = ["--publish", "someone/feat-freckles", *(["--private"] if private else [])]
        args = ["--prompt", "a face with freckles", "--on", "hf-jobs", "--code", CODE, "--steps", "1", *flags]
        assert main(["train", *args]) == 0
        argv = argv_of(next(iter(hub.jobs.values())).spec["command"])
    assert ("--private" in argv) is private


@pytest.mark.parametrize(
    ("remote", "url"),
    [
        ("git@github.com:you/feat-space.git", "https://github.com/you/feat-space.git"),
        ("ssh://git@github.com/you/feat-space.git", "https://github.com/you/feat-space.git"),
        ("ssh://git@gitlab.example.org:2222/you/feat-space", "https://gitlab.example.org/you/feat-space"),
        ("https://github.com/you/feat-space.git", "https://github.com/you/feat-space.git"),
    ],
)
def test_a_checkout_with_an_ssh_remote_gives_the_job_an_https_url(monkeypatch, remote, url):
    from feat_space.jobs import code

    answers = {"remote": remote, "rev-parse": "a" * 40, "status": "", "branch": "origin/main"}
    monkeypatch.setattr(code, "_git", lambda *args: answers[args[0]])
    source = code.checkout_source()
    assert source.requirement == f"git+{url}@{'a' * 40}"
    assert CodeSource.parse(source.requirement) == source, "pip's form: git+<url>@<commit>"


def test_a_remote_no_job_can_fetch_is_refused_up_front(monkeypatch):
    from feat_space.jobs import code

    with pytest.raises(CodeSourceError, match=r"neither https nor SSH.*FEAT_JOB_CODE"):
        code.fetchable_url("/home/you/feat-space")


def test_the_app_path_never_falls_back_to_the_stored_login(hub_env):
    """`stored_login=False` (the app): a missing visitor token is an error, not HF_TOKEN's account."""
    with serve(hub_env, None, token="hf_owner") as hub:
        for missing in (None, ""):
            with pytest.raises(JobsError, match="sign in with Hugging Face"):
                HubJobs(token=missing, stored_login=False)
        assert HubJobs(token=TOKEN, stored_login=False).namespace == "someone"
    assert ("GET", "/api/whoami-v2") in hub.requests  # only the visitor's token was ever sent


@pytest.mark.parametrize(
    ("result", "why"),
    [
        (None, "reported no uploaded edit"),
        (ResultReport("failed", 3, {}), "ended 'failed'"),
        (ResultReport("nothing", 0, {"repo": "a/b", "revision": REVISION}), "ended 'nothing'"),
        (ResultReport("done", 4, {"revision": REVISION}), "no repo"),
        (ResultReport("done", 4, {"repo": "a/b"}), "no revision"),
    ],
)
def test_a_completed_job_without_a_usable_uploaded_edit_fails_clearly(result, why):
    watch = Watch("job1", stage="COMPLETED", seen=True, result=result)
    with pytest.raises(JobFailed, match=why):
        ended_well(watch)


def test_a_completed_job_with_an_uploaded_edit_ends_well():
    result = ResultReport("stopped", 3, {"repo": "a/b", "revision": REVISION})
    assert ended_well(Watch("job1", stage="COMPLETED", seen=True, result=result)) is result


def test_a_warning_is_shown_before_the_mask_has_a_mean():
    """A skipped first step (its loss not finite) has no mask mean yet; its warning still reaches the tab."""
    from feat_space.ui.training_view import progress_status

    report = ProgressReport(1, 10, {"total": float("nan")}, 1.0, warning="Step 1 was skipped")
    status = progress_status("Training “x”", report, "keeps what is learned")
    assert "⚠️ Step 1 was skipped" in status and "total loss — (not a number)" in status and "nan" not in status
