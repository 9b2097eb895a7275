"""The GitHub workflows and the scripts they run: checks without secrets on pull requests, the comment built
from untrusted data safely, the Space deployed from main only."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml

SCRIPTS = Path(__file__).resolve().parents[1] / ".github" / "scripts"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


comment_script = load("edit_report_comment")


def report(tmp_path: Path, edits: list, pr: str = "42") -> Path:
    folder = tmp_path / "report"
    folder.mkdir()
    (folder / "report.json").write_text(json.dumps({"profile": "real", "edits": edits}))
    (folder / "pr-number").write_text(pr + "\n")
    return folder


NUMBERS = {
    "photos": [
        {
            "photo": "astronaut.png",
            "mask_share": 0.031,
            "strengths": [
                {"strength": 1.0, "change_inside": 21.5, "change_outside": 0.4, "identity": 0.91, "seconds": 2}
            ],
        }
    ]
}


def test_a_passed_edit_gets_its_table_and_picture(tmp_path):
    folder = report(tmp_path, [{"name": "grin", "status": "passed", "problem": None, "numbers": NUMBERS}])
    (folder / "grin.png").write_bytes(PNG)
    out = tmp_path / "previews"
    text = comment_script.comment(folder, out, "pr-42/7", "https://example.test/raw", "https://example.test/run")
    assert "### ✅ `grin`: passed" in text and "| astronaut.png | 1 | 3.1% | 21.5 / 0.40 | 0.910 | 2.0 |" in text
    assert "(https://example.test/raw/pr-42/7/grin.png)" in text
    assert (out / "pr-42" / "7" / "grin.png").read_bytes() == PNG
    assert comment_script.pr_number(folder) == "42"


def test_untrusted_fields_are_checked_not_trusted(tmp_path):
    edits = [
        {"name": "../../etc", "status": "passed", "numbers": NUMBERS},
        {"name": "fake", "status": "passed"},
        {"name": "bad", "status": "owned", "problem": "```\n<script>x</script> `rm -rf`", "numbers": {"photos": 3}},
    ]
    folder = report(tmp_path, edits, pr="1; rm -rf /")
    (folder / "fake.png").write_text("<svg onload=alert(1)>")  # not a PNG
    out = tmp_path / "previews"
    text = comment_script.comment(folder, out, "pr-1/2", "https://example.test/raw", "https://example.test/run")
    assert "an edit with an invalid name" in text and "../../etc" not in text
    assert "![fake" not in text and not out.exists()
    assert "### ❌ `bad`: failed" in text and "rm -rf" in text and "`rm -rf`" not in text
    assert text.count("```") == 2  # only the block the script opened and closed
    with pytest.raises(ValueError):
        comment_script.pr_number(folder)
    with pytest.raises(ValueError):
        comment_script.comment(folder, out, "../x", "https://example.test/raw", "https://example.test/run")


def test_a_missing_report_says_so(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    text = comment_script.comment(folder, tmp_path / "p", "pr-1/2", "https://e.test/raw", "https://e.test/run")
    assert "wrote no readable report" in text and "(https://e.test/run)" in text


def test_the_space_upload_takes_the_app_files_only():
    deploy = load("deploy_space")
    assert {"app.py", "README.md", "requirements.txt", "feat_space/**", "edits/**"} <= set(deploy.APP_FILES)
    assert not any(p.startswith((".github", "tests")) for p in deploy.APP_FILES)
    assert deploy.main(["not a space", "abc"]) == 2


def workflow(name: str) -> dict:
    text = (SCRIPTS.parent / "workflows" / name).read_text()
    data = yaml.safe_load(text)
    data["text"] = text
    data["on"] = data.pop(True)  # YAML 1.1 reads the key `on` as a boolean
    return data


def test_pull_requests_run_the_checks_without_secrets_or_write_access():
    ci = workflow("ci.yml")
    assert "pull_request" in ci["on"] and "bash .ci/run" in ci["text"]
    verify = workflow("verify-edits.yml")
    assert verify["on"]["pull_request"]["paths"] == ["edits/**"]
    assert "edits verify --changed" in verify["text"] and "actions/upload-artifact" in verify["text"]
    for pr_side in (ci, verify):
        assert pr_side["permissions"] == {"contents": "read"} and "secrets." not in pr_side["text"]


def test_the_comment_runs_from_the_base_side_and_never_checks_out_the_pull_request():
    comment = workflow("verify-edits-comment.yml")
    assert comment["on"] == {"workflow_run": {"workflows": ["Verify edits"], "types": ["completed"]}}
    steps = comment["jobs"]["comment"]["steps"]
    checkouts = [s for s in steps if s.get("uses", "").startswith("actions/checkout")]
    assert len(checkouts) == 1 and "with" not in checkouts[0]  # the default branch, not the PR's ref
    assert "head_sha" in comment["text"] and "edit_report_comment.py" in comment["text"]


def test_only_a_push_to_main_deploys_with_the_token():
    deploy = workflow("deploy-space.yml")
    assert set(deploy["on"]) == {"push", "workflow_dispatch"} and deploy["on"]["push"]["branches"] == ["main"]
    assert "secrets.HF_TOKEN" in deploy["text"] and "vars.HF_SPACE_REPO" in deploy["text"]
