"""What a training job is: image, command, environment and secrets, as `HfApi.run_job` takes them.

The job installs the pinned code (`code.CodeSource`) into a PyTorch CUDA image, with the code's own
`requirements.txt` as constraints (the versions CI tests), runs the doctor's quick checks, then this
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
# StyleGAN2 kernels build (their PyTorch path would also work, slower). Its torch (2.6.0) is not the one
# requirements.txt pins (2.15.0, what CI tests): the install below replaces it, saying so in the log.
# No pytorch/pytorch image with the pinned torch has been verified from here (no Hub, no registry
# access); with one, set it here (or pass --image) and the job downloads no second torch.
DEFAULT_IMAGE = "pytorch/pytorch:2.6.0-cuda12.4-cudnn9-devel"
# GPU flavors offered (huggingface_hub's JobHardware names), cheapest first, and the one a training
# gets unless a person picks another (the CLI's --flavor, the Train tab's list).
FLAVORS = ("t4-small", "l4x1", "a10g-small", "a10g-large", "a100-large")
DEFAULT_FLAVOR = "a10g-small"
DEFAULT_TIMEOUT = "4h"  # the Hub stops the job (and its billing) after this, whatever happens in it
ENTRY_ENV = env.EDIT_YAML.name
OUTPUT = "/tmp/feat-edit"
CHECKOUT = "/tmp/feat-code"
DOCTOR_OUT = "/tmp/feat-doctor"
# $1 $2: the code's git URL and commit; the rest is the feat-space command line. The project is installed
# with its own requirements.txt (the pinned set CI tests) as constraints, not only pyproject's ranges; then
# the doctor's quick checks (model files, layouts, CUDA ops; they print torch, CUDA and the GPU) run before
# the first step, and a failure ends the job there with their lines last in its log. An unpinned model
# file is reported there but does not stop the job (a job cannot pin; `feat-space models pin` does).
SCRIPT = (
    "set -e; command -v git >/dev/null || (apt-get update -qq && apt-get install -y -qq git >/dev/null); "
    f'git clone --quiet "$1" {CHECKOUT} && git -C {CHECKOUT} checkout --quiet "$2"; shift 2; '
    'image=$(python -c "import torch; print(torch.__version__)" 2>/dev/null || echo none); '
    f"pinned=$(sed -n 's/^torch==//p' {CHECKOUT}/requirements.txt); "
    'if [ "${image%%+*}" != "$pinned" ]; then echo "the image has torch $image, requirements.txt pins $pinned: '
    'installing the pinned torch over it (a second torch download, about 2-3 GB)"; fi; '
    f'echo "installing feat-space at $(git -C {CHECKOUT} rev-parse HEAD) with requirements.txt as constraints"; '
    f"pip install --quiet --no-cache-dir -c {CHECKOUT}/requirements.txt {CHECKOUT}; "
    f"python -u -m feat_space doctor --quick --allow-unpinned --out {DOCTOR_OUT} || "
    '{ echo "FEAT-DOCTOR the quick checks failed before training (lines above): nothing was trained"; exit 3; }; '
    'exec python -u -m feat_space "$@"'
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
        return ["bash", "-c", SCRIPT, "feat-space-job", self.code.url, self.code.commit, *self.argv()]

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
            f"{self.image} on {self.flavor}: pip install {shlex.quote(self.code.requirement)} with its "
            "requirements.txt as constraints, feat-space doctor --quick, then feat-space " + " ".join(self.argv())
        )


def argv_of(command: list[str]) -> list[str]:
    """The feat-space arguments of a job's command (what a test stand-in for the Jobs API runs)."""
    if command[:4] != ["bash", "-c", SCRIPT, "feat-space-job"]:
        raise ValueError("not a feat-space training job")
    return command[6:]


__all__ = ["DEFAULT_FLAVOR", "DEFAULT_IMAGE", "DEFAULT_TIMEOUT", "ENTRY_ENV", "FLAVORS", "TrainingJob", "argv_of"]
