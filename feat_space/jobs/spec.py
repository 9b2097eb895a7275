"""What a training job is: image, command, environment and secrets, as `HfApi.run_job` takes them.

The job installs the pinned code (`code.CodeSource`) into a PyTorch CUDA image and runs this
project's own `train` command on the entry given in `FEAT_EDIT_YAML`, printing progress lines
(`training.report`) and uploading the edit with the user's token (a secret: never in the job's
visible environment). Everything after the install is `python -m feat_space <ARGV>`, so what the job
trains is exactly what `train` does on your machine.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from .. import env
from ..registry.drafts import entry_data
from ..registry.registry import dump_entry
from ..registry.schema import EditEntry
from .code import CodeSource

# The image Hugging Face's Jobs documentation uses for GPU jobs; it has CUDA's compiler, so the
# StyleGAN2 kernels build (their PyTorch path would also work, slower).
DEFAULT_IMAGE = "pytorch/pytorch:2.6.0-cuda12.4-cudnn9-devel"
# GPU flavors offered (huggingface_hub's JobHardware names), cheapest first, and the one a training
# gets unless a person picks another (the CLI's --flavor, the Train tab's list).
FLAVORS = ("t4-small", "l4x1", "a10g-small", "a10g-large", "a100-large")
DEFAULT_FLAVOR = "a10g-small"
DEFAULT_TIMEOUT = "4h"  # the Hub stops the job (and its billing) after this, whatever happens in it
ENTRY_ENV = env.EDIT_YAML.name
OUTPUT = "/tmp/feat-edit"
# $1 is the pip requirement; the rest is the feat-space command line.
SCRIPT = (
    "set -e; command -v git >/dev/null || (apt-get update -qq && apt-get install -y -qq git >/dev/null); "
    'echo "installing $1"; pip install --quiet --no-cache-dir "$1"; shift; exec python -u -m feat_space "$@"'
)
LABEL = "feat-space"


@dataclass(frozen=True)
class TrainingJob:
    entry: EditEntry
    repo_id: str  # where the job uploads the edit
    code: CodeSource
    private: bool = False  # a private upload: the edit is only downloaded (no --publish)
    flavor: str = DEFAULT_FLAVOR
    image: str = DEFAULT_IMAGE
    timeout: str = DEFAULT_TIMEOUT
    env: dict[str, str] = field(default_factory=dict)  # extra environment (FEAT_PROFILE, HF_ENDPOINT)

    def argv(self) -> list[str]:
        """The feat-space command line the job runs after the install."""
        argv = ["train", "--entry-env", ENTRY_ENV, "--output", OUTPUT, "--publish", self.repo_id, "--progress-lines"]
        return [*argv, "--private"] if self.private else argv

    def command(self) -> list[str]:
        return ["bash", "-c", SCRIPT, "feat-space-job", self.code.requirement, *self.argv()]

    def run_job_kwargs(self, token: str) -> dict:
        return {
            "image": self.image,
            "command": self.command(),
            "env": {ENTRY_ENV: dump_entry(entry_data(self.entry)), "PYTHONUNBUFFERED": "1", **self.env},
            "secrets": {"HF_TOKEN": token},
            "flavor": self.flavor,
            "timeout": self.timeout,
            "name": f"feat-{self.entry.name}",
            "labels": {LABEL: self.entry.name},
        }

    def describe(self) -> str:
        return (
            f"{self.image} on {self.flavor}: pip install {shlex.quote(self.code.requirement)}, then feat-space "
            + " ".join(self.argv())
        )


def argv_of(command: list[str]) -> list[str]:
    """The feat-space arguments of a job's command (what a test stand-in for the Jobs API runs)."""
    if command[:4] != ["bash", "-c", SCRIPT, "feat-space-job"]:
        raise ValueError("not a feat-space training job")
    return command[5:]


__all__ = ["DEFAULT_FLAVOR", "DEFAULT_IMAGE", "DEFAULT_TIMEOUT", "ENTRY_ENV", "FLAVORS", "TrainingJob", "argv_of"]
