"""A local stand-in for the Hugging Face Hub's file endpoint, so the real download code can be tested.

It speaks what `hf_hub_download` and `get_hf_file_metadata` use: `HEAD`/`GET
/{repo_id}/resolve/{revision}/{filename}` answering with `X-Repo-Commit`, a quoted `ETag` (the sha256,
as the Hub gives for LFS files, also as `X-Linked-Etag`), `X-Linked-Size` and `Content-Length`; errors
carry the Hub's `X-Error-Code` (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo), from which
huggingface_hub builds its exceptions.

For publishing it also takes uploads the way `HfApi.create_repo` / `upload_folder` send them:
`POST /api/repos/create`, `/api/validate-yaml`, `/api/models/{repo}/preupload/{rev}` (every file
"regular", so content travels inline) and `/api/models/{repo}/commit/{rev}` (NDJSON, base64 files),
each commit getting a new hash. With `write_token` set, uploads need that bearer token.

Loopback only, on a free port; it stops when its `with` block ends, or after `lifetime` seconds at the
latest, so a failing test cannot leave it running.

    with HubServer() as hub:
        hub.add_file("org/repo", "model.pt", b"...")
        os.environ["HF_ENDPOINT"] = hub.url
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


@dataclass
class _Repo:
    commit: str
    files: dict[str, bytes] = field(default_factory=dict)
    etags: dict[str, str] = field(default_factory=dict)  # what the Hub says the content's sha256 is
    token: str | None = None  # gated: requests must carry this bearer token


class HubServer:
    def __init__(self, lifetime: float = 120.0, write_token: str | None = None) -> None:
        self.write_token = write_token
        self.commits: list[tuple[str, str, list[str]]] = []  # (repo, commit, paths) of each upload
        self.repos: dict[str, _Repo] = {}
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="hub-server", daemon=True
        )
        self._deadline = threading.Timer(lifetime, self.stop)
        self._deadline.daemon = True

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add_file(
        self, repo_id: str, filename: str, content: bytes, *, commit: str | None = None, token: str | None = None
    ) -> str:
        """Serve `content`; returns the repo's commit hash (derived from the repo id unless given)."""
        with self._lock:
            repo = self.repos.get(repo_id)
            if repo is None:
                commit = commit or hashlib.sha1(repo_id.encode()).hexdigest()
                repo = self.repos[repo_id] = _Repo(commit=commit, token=token)
            repo.files[filename] = content
            repo.etags[filename] = hashlib.sha256(content).hexdigest()
            return repo.commit

    def corrupt(self, repo_id: str, filename: str) -> None:
        """Serve damaged bytes (same length) under the original ETag, as a bad mirror or disk would."""
        with self._lock:
            content = bytearray(self.repos[repo_id].files[filename])
            content[len(content) // 2] ^= 0xFF
            self.repos[repo_id].files[filename] = bytes(content)

    def start(self) -> HubServer:
        self._thread.start()
        self._deadline.start()
        return self

    def stop(self) -> None:
        self._deadline.cancel()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:
                self._answer(body=False)

            def do_GET(self) -> None:
                self._answer(body=True)

            def do_POST(self) -> None:
                path = urlsplit(self.path).path
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with hub._lock:
                    hub.requests.append((self.command, path))
                if path == "/api/validate-yaml":
                    return self._json(200, {"errors": [], "warnings": []})
                if hub.write_token is not None and self.headers.get("authorization") != f"Bearer {hub.write_token}":
                    return self._error(401, None)
                if path == "/api/repos/create":
                    request = json.loads(body)
                    repo_id = f"{request['organization']}/{request['name']}"
                    with hub._lock:
                        if repo_id in hub.repos:
                            return self._json(409, {"error": "You already created this model repo"})
                        hub.repos[repo_id] = _Repo(commit=hashlib.sha1(repo_id.encode()).hexdigest())
                    return self._json(200, {"url": f"{hub.url}/{repo_id}", "name": repo_id})
                parts = path.strip("/").split("/")
                if len(parts) == 6 and parts[:2] == ["api", "models"] and parts[4] in ("preupload", "commit"):
                    repo_id = "/".join(parts[2:4])
                    with hub._lock:
                        repo = hub.repos.get(repo_id)
                        if repo is None:
                            return self._error(404, "RepoNotFound")
                        if parts[4] == "preupload":
                            files = json.loads(body)["files"]
                            return self._json(
                                200,
                                {
                                    "files": [
                                        {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                        for f in files
                                    ]
                                },
                            )
                        added = [json.loads(line)["value"] for line in body.splitlines() if line.strip()]
                        added = [v for v in added if "path" in v and "content" in v]
                        for item in added:
                            content = base64.b64decode(item["content"])
                            repo.files[item["path"]] = content
                            repo.etags[item["path"]] = hashlib.sha256(content).hexdigest()
                        repo.commit = hashlib.sha1(
                            (repo.commit + repr(sorted(repo.etags.items()))).encode()
                        ).hexdigest()
                        hub.commits.append((repo_id, repo.commit, [item["path"] for item in added]))
                        commit = repo.commit
                    return self._json(
                        200,
                        {
                            "commitUrl": f"{hub.url}/{repo_id}/commit/{commit}",
                            "commitOid": commit,
                            "pullRequestUrl": None,
                        },
                    )
                return self._error(404, None)

            def _json(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _answer(self, body: bool) -> None:
                path = urlsplit(self.path).path
                with hub._lock:
                    hub.requests.append((self.command, path))
                parts = path.lstrip("/").split("/")
                if len(parts) < 5 or parts[2] != "resolve":
                    return self._error(404, None)
                repo_id, revision, filename = "/".join(parts[:2]), unquote(parts[3]), unquote("/".join(parts[4:]))
                with hub._lock:
                    repo = hub.repos.get(repo_id)
                    if repo is None:
                        return self._error(401, "RepoNotFound")
                    if repo.token is not None and self.headers.get("authorization") != f"Bearer {repo.token}":
                        return self._error(401, "GatedRepo")
                    if revision not in ("main", repo.commit):
                        return self._error(404, "RevisionNotFound")
                    if filename not in repo.files:
                        return self._error(404, "EntryNotFound", repo.commit)
                    content, etag = repo.files[filename], repo.etags[filename]
                self.send_response(200)
                self.send_header("X-Repo-Commit", repo.commit)
                self.send_header("ETag", f'"{etag}"')
                self.send_header("X-Linked-Etag", f'"{etag}"')
                self.send_header("X-Linked-Size", str(len(content)))
                self.send_header("Content-Length", str(len(content)))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                if body:
                    self.wfile.write(content)

            def _error(self, status: int, code: str | None, commit: str | None = None) -> None:
                self.send_response(status)
                if code:
                    self.send_header("X-Error-Code", code)
                    self.send_header("X-Error-Message", code)
                if commit:
                    self.send_header("X-Repo-Commit", commit)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

        return Handler


__all__ = ["HubServer"]
