"""`publish`: upload a trained edit with your own token and pin its registry YAML to the upload's commit."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .base import SubParsers


def register(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("publish", parents=[common], help="upload a trained edit and pin it in edits/")
    p.add_argument("folder", type=Path, help="a trained edit folder (from `train`)")
    p.add_argument("--repo", required=True, help="Hub model repo to upload to, 'owner/name'")
    p.add_argument("--token", default=os.environ.get("HF_TOKEN"), help="your Hub token (default: HF_TOKEN)")
    p.add_argument("--yaml", type=Path, help="registry file to write (default: edits/<name>.yaml)")
    p.add_argument("--private", action="store_true", help="create the repo private")
    p.set_defaults(handler=_publish)


def _publish(args: argparse.Namespace) -> int:
    from ..registry.drafts import read_draft
    from ..registry.publishing import pin_in_registry, publish_edit
    from ..registry.registry import edits_dir

    draft = read_draft(args.folder)
    name = (draft or {}).get("name") or args.folder.name
    published = publish_edit(args.folder, args.repo, args.token, name=name, private=args.private)
    print(f"Uploaded to {published.url} (commit {published.revision})")
    yaml_path = args.yaml or edits_dir() / f"{name}.yaml"
    # An existing entry only gets its checkpoint pinned; a new one is made from the training draft.
    pin_in_registry(yaml_path, published, defaults=draft)
    print(f"Pinned {yaml_path} to {published.repo_id}@{published.revision}: open a pull request with it.")
    return 0
