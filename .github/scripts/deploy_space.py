"""Upload the app's files to a Hugging Face Space (the deploy workflow's one step).

    HF_TOKEN=... python .github/scripts/deploy_space.py owner/space <commit>

What the Space runs: app.py, the package, the edit registry, the requirements and README.md (its front
matter is the Space's card). Files of those folders that main no longer has are deleted from the Space.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from huggingface_hub import HfApi

ROOT = Path(__file__).resolve().parents[2]
APP_FILES = ["app.py", "README.md", "requirements.txt", "pyproject.toml", "feat_space/**", "edits/**"]
IGNORED = ["**/__pycache__/**", "**/*.pyc"]
SPACE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not SPACE_ID.fullmatch(argv[0]):
        print("usage: deploy_space.py OWNER/SPACE COMMIT (set the repository variable HF_SPACE_REPO)", file=sys.stderr)
        return 2
    space, commit = argv
    token = os.environ.get("HF_TOKEN")
    if not token:
        print("HF_TOKEN is empty: add the repository secret HF_TOKEN (a token that may write to the Space).")
        return 1
    info = HfApi(token=token).upload_folder(
        repo_id=space,
        repo_type="space",
        folder_path=ROOT,
        allow_patterns=APP_FILES,
        ignore_patterns=IGNORED,
        delete_patterns=["feat_space/**", "edits/**"],
        commit_message=f"Deploy {commit[:12]} from GitHub",
    )
    print(f"Uploaded to {space}: {info.commit_url}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
