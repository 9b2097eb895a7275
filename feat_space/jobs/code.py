"""Which code a training job runs: this project installed from git at one exact commit.

Why not the Space's own image: a Space's image is whatever the Space last built (not a commit one can
name or reproduce), it exists only for people who have a Space, and its hardware build need not fit a
GPU job. An install of the repository at a commit is the same for the command line and the app, is
recorded in the job (and so beside the published edit), and needs nothing but a public git URL. The
cost is the install at the start of every job (about a minute; PyTorch comes with the image).

Where the commit comes from, first match wins:
1. `FEAT_JOB_CODE` (or `--code`): `git+<url>@<40-hex commit>`, e.g. a fork's commit;
2. on a Hugging Face Space: the Space's own repository at its current commit (`git+https://huggingface.co/spaces/<id>`);
3. in a git checkout: its `origin` at `HEAD` (an SSH remote as https), refused when feat_space/ has
   uncommitted changes (the job would run other code than yours) or `HEAD` is on no remote branch (the
   job could not fetch it).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .. import env
from ..errors import FeatError
from ..weights.sources import COMMIT

CODE_ENV = env.JOB_CODE.name
_PATTERN = re.compile(rf"^git\+(?P<url>\S+)@(?P<commit>{COMMIT})$")
_CHECKOUT = Path(__file__).resolve().parents[2]


class CodeSourceError(FeatError):
    """The code a job should run cannot be pinned."""


@dataclass(frozen=True)
class CodeSource:
    url: str  # a git URL pip can clone
    commit: str  # 40 hex digits

    @property
    def requirement(self) -> str:
        """What `pip install` is given."""
        return f"git+{self.url}@{self.commit}"

    @classmethod
    def parse(cls, text: str) -> CodeSource:
        m = _PATTERN.match(text.strip())
        if m is None:
            raise CodeSourceError(
                f"{text!r} is not a pinned code source: write it as git+<url>@<40-character commit>, e.g. "
                "git+https://github.com/you/feat-space@<commit> (a branch name could move while the job runs)."
            )
        return cls(m["url"], m["commit"])


def _git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(_CHECKOUT), *args], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise CodeSourceError(
            f"Cannot pin the job's code from this checkout (git {' '.join(args)}: "
            f"{done.stderr.strip() or done.returncode}): set {CODE_ENV} (or --code) to git+<url>@<commit>."
        )
    return done.stdout.strip()


_SCP_LIKE = re.compile(r"^(?:[\w.-]+@)?(?P<host>[\w.-]+):(?!//)(?P<path>[^\\]+)$")  # git@github.com:you/x.git
_SSH_URL = re.compile(r"^ssh://(?:[\w.-]+@)?(?P<host>[\w.-]+)(?::\d+)?/(?P<path>.+)$")


def fetchable_url(url: str) -> str:
    """`url` as a job can clone it: SSH remotes become https (a job has no SSH key; the code must be
    public anyway). Anything else pip cannot take is refused here, not when the job installs."""
    if url.startswith(("https://", "http://")):
        return url
    m = _SSH_URL.match(url) or _SCP_LIKE.match(url)
    if m is not None:
        return f"https://{m['host']}/{m['path']}"
    raise CodeSourceError(
        f"The remote {url!r} is neither https nor SSH, so a job could not fetch it: set {CODE_ENV} (or --code) to "
        "git+https://<host>/<you>/feat-space@<commit>."
    )


def checkout_source() -> CodeSource:
    """This checkout's `origin` at `HEAD`, when the job can fetch exactly that code."""
    if not (_CHECKOUT / ".git").exists():
        raise CodeSourceError(
            f"This feat-space is not a git checkout, so the job's code cannot be pinned: set {CODE_ENV} "
            "(or --code) to git+<url>@<commit>."
        )
    try:
        url = _git("remote", "get-url", "origin")
        commit = _git("rev-parse", "HEAD")
        dirty = _git("status", "--porcelain", "--", "feat_space")
        remote_branches = _git("branch", "-r", "--contains", commit)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise CodeSourceError(
            f"Cannot read this checkout with git ({e}): set {CODE_ENV} to git+<url>@<commit>."
        ) from None
    if dirty:
        raise CodeSourceError(
            "feat_space/ has uncommitted changes, which a job would not run: commit and push them, or set "
            f"{CODE_ENV} to the commit you want."
        )
    if not remote_branches:
        raise CodeSourceError(f"Commit {commit[:12]} is on no branch of {url}: push it first, so the job can fetch it.")
    return CodeSource(fetchable_url(url), commit)


def code_source(explicit: str | None = None, space: tuple[str, str] | None = None) -> CodeSource:
    """The code a job runs (see the module docstring for the order); `space`: (the Space's git URL, its commit)."""
    text = explicit or env.JOB_CODE.get()
    if text:
        return CodeSource.parse(text)
    if space is not None:
        return CodeSource(*space)
    return checkout_source()


__all__ = ["CODE_ENV", "CodeSource", "CodeSourceError", "checkout_source", "code_source", "fetchable_url"]
