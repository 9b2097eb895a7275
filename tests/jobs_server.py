"""A local stand-in for the subset of the Hugging Face Jobs API that `feat_space.jobs` uses, on top of
`HubServer` (files and uploads), so the real huggingface_hub client code is what the tests drive.

It speaks what `HfApi` sends (huggingface_hub 2.x, hf_api.py / _jobs_api.py):
`GET /api/whoami-v2` (the token's user), `POST /api/jobs/{namespace}` (the job spec: dockerImage or
spaceId, command, environment, secrets, flavor, timeoutSeconds, labels → a JobInfo),
`GET /api/jobs/{namespace}/{id}` (JobInfo with `status.stage`), `GET /api/jobs/{namespace}/{id}/logs`
(server-sent events, `data: {"timestamp", "data"}` per line, the stream held open while the job runs),
`POST /api/jobs/{namespace}/{id}/cancel`, and `GET /api/spaces/{id}` (a Space's current commit).

What a job does is a Python callable given the `Job` (`behaviour`), run in a thread: it writes log
lines and moves the stage; `job.canceled` is set by a cancel request.

    with JobsServer(token="hf_user", behaviour=script) as hub:
        os.environ["HF_ENDPOINT"] = hub.url
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

from hub_server import HubServer

TERMINAL = ("COMPLETED", "CANCELED", "ERROR", "DELETED")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Job:
    id: str
    namespace: str
    spec: dict
    stage: str = "SCHEDULING"
    message: str | None = None
    logs: list[tuple[str, str]] = field(default_factory=list)  # (timestamp, line)
    canceled: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def log(self, line: str) -> None:
        with self.changed:
            self.logs.append((_now(), line))
            self.changed.notify_all()

    def set_stage(self, stage: str, message: str | None = None) -> None:
        with self.changed:
            if self.stage in TERMINAL:
                return  # a canceled job stays canceled
            self.stage, self.message = stage, message
            self.changed.notify_all()

    def info(self) -> dict:
        spec = self.spec
        return {
            "id": self.id,
            "createdAt": _now(),
            "dockerImage": spec.get("dockerImage"),
            "spaceId": spec.get("spaceId"),
            "command": spec.get("command"),
            "arguments": spec.get("arguments", []),
            "environment": spec.get("environment", {}),
            "secrets": {k: "***" for k in spec.get("secrets", {})},
            "flavor": spec.get("flavor"),
            "labels": spec.get("labels"),
            "status": {"stage": self.stage, "message": self.message},
            "owner": {"id": "0" * 24, "name": self.namespace, "type": "user"},
        }


class JobsServer(HubServer):
    def __init__(
        self,
        token: str = "hf_user_token",
        user: str = "someone",
        behaviour: Callable[[Job], None] | None = None,
        lifetime: float = 120.0,
        scopes: tuple[str, ...] = ("write-repos", "jobs"),
    ) -> None:
        super().__init__(lifetime=lifetime, write_token=token)
        self.token, self.user = token, user
        self.scopes = scopes  # what the token was granted: starting a job needs `jobs`, as on the Hub
        self.behaviour = behaviour or (lambda job: job.set_stage("COMPLETED"))
        self.jobs: dict[str, Job] = {}
        self.spaces: dict[str, str] = {}  # Space id → its current commit (`GET /api/spaces/{id}`)

    def _handler(self):
        base = super()._handler()
        hub = self

        class Handler(base):  # type: ignore[misc, valid-type]
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                if path.startswith("/api/"):
                    with hub._lock:
                        hub.requests.append((self.command, path))
                    return self._api("GET", path)
                return super().do_GET()

            def do_POST(self) -> None:
                path = urlsplit(self.path).path
                if path == "/api/whoami-v2" or path.startswith("/api/jobs/"):
                    with hub._lock:
                        hub.requests.append((self.command, path))
                    return self._api("POST", path)
                return super().do_POST()

            def _api(self, method: str, path: str) -> None:
                if self.headers.get("authorization") != f"Bearer {hub.token}":
                    return self._json(401, {"error": "Invalid credentials in Authorization header"})
                parts = path.strip("/").split("/")
                if path == "/api/whoami-v2":
                    return self._json(200, {"name": hub.user, "type": "user", "auth": {}})
                if parts[:2] == ["api", "spaces"] and "/".join(parts[2:4]) in hub.spaces:
                    space = "/".join(parts[2:4])
                    return self._json(200, {"id": space, "sha": hub.spaces[space], "private": False})
                if parts[:2] != ["api", "jobs"] or len(parts) < 3 or parts[2] != hub.user:
                    return self._json(404, {"error": "not found"})
                if method == "POST" and len(parts) == 3:
                    if "jobs" not in hub.scopes:
                        return self._json(403, {"error": "This token does not have the permission to run jobs"})
                    spec = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                    with hub._lock:
                        job = Job(f"{len(hub.jobs) + 1:024x}", hub.user, spec)
                        hub.jobs[job.id] = job
                    threading.Thread(target=hub._run, args=(job,), daemon=True).start()
                    return self._json(200, job.info())
                job = hub.jobs.get(parts[3]) if len(parts) > 3 else None
                if job is None:
                    return self._json(404, {"error": "Job not found"})
                if method == "GET" and len(parts) == 4:
                    return self._json(200, job.info())
                if method == "POST" and parts[4:] == ["cancel"]:
                    job.set_stage("CANCELED")
                    job.canceled.set()
                    return self._json(200, {})
                if method == "GET" and parts[4:] == ["logs"]:
                    return self._stream(job)
                return self._json(404, {"error": "not found"})

            def _stream(self, job: Job) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                sent = 0
                while True:
                    with job.changed:
                        if sent >= len(job.logs) and job.stage not in TERMINAL:
                            job.changed.wait(0.5)
                        new, done = job.logs[sent:], job.stage in TERMINAL
                    for stamp, line in new:
                        event = json.dumps({"timestamp": stamp, "data": line})
                        self.wfile.write(f"data: {event}\n\n".encode())
                    self.wfile.flush()
                    sent += len(new)
                    if done and sent >= len(job.logs):
                        return  # the connection closes: the client reads the stage

        return Handler

    def _run(self, job: Job) -> None:
        try:
            self.behaviour(job)
        except Exception as e:  # a broken test behaviour shows as a failed job, not a hang
            job.log(f"stand-in error: {e!r}")
            job.set_stage("ERROR", str(e))


def scripted(*lines: str, stage: str = "COMPLETED", message: str | None = None, pause: float = 0.0):
    """A job behaviour: scheduling, then running with `lines` logged, then `stage`."""

    def behave(job: Job) -> None:
        time.sleep(0.05)
        job.set_stage("RUNNING")
        for line in lines:
            if job.canceled.is_set():
                return
            job.log(line)
            time.sleep(pause)
        job.set_stage(stage, message)

    return behave


__all__ = ["Job", "JobsServer", "scripted"]
