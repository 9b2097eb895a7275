"""End to end in a real browser: Playwright drives Debian's chromium against the app (tiny profile).

Playwright cannot download its own browsers here, so it launches /usr/bin/chromium (`apt-get install
chromium`, done by .ci/run). Screenshots go to $FEAT_SCREENSHOTS when set (the README's come from
`FEAT_SCREENSHOTS=docs/screenshots pytest tests/test_browser.py`), else to the test's temp folder.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from PIL import Image

from feat_space.registry.registry import load_registry
from feat_space.session import Session
from feat_space.ui import build_app, launch_options
from feat_space.ui.context import AppContext, Limits
from feat_space.ui.edit_tab import EXAMPLES

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is a dev dependency")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def url():
    context = AppContext(Session("tiny", device="cpu"), load_registry(), Limits(max_steps=50))
    demo = build_app(context=context)
    _, url, _ = demo.launch(
        server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True, **launch_options()
    )
    try:
        yield url
    finally:
        demo.close()


@pytest.fixture(scope="module")
def page(url):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(url)
            yield page
        finally:
            browser.close()


def screenshot(page, tmp_path: Path, name: str) -> Path:
    folder = Path(os.environ.get("FEAT_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(300)
    page.screenshot(path=str(path))
    # A 256-colour PNG: a few hundred kB instead of megabytes in the repository.
    Image.open(path).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path


def test_upload_a_photo_edit_it_and_see_the_result(page, tmp_path):
    sync = sync_api
    sync.expect(page.locator("#notice")).to_contain_text("UNTRAINED")
    sync.expect(page.locator("#model-status")).to_contain_text("Models ready", timeout=90_000)
    photo = next(p for p in EXAMPLES if "astronaut" in p)
    page.locator("#photo input[type=file]").set_input_files(photo)
    sync.expect(page.locator("#photo img")).to_be_visible()
    page.locator("#edit-choices").get_by_text("Purple hair · hair (untrained demo)").click()
    page.locator("#run-edit").click()
    sync.expect(page.locator("#edit-info")).to_contain_text("Edited with Purple hair", timeout=120_000)
    result = page.locator("#result img")
    sync.expect(result).to_be_visible()
    assert result.evaluate("img => img.complete && img.naturalWidth") == Image.open(photo).width
    page.get_by_text("Download the edited photo (PNG)").wait_for()
    path = screenshot(page, tmp_path, "edit.png")
    assert Image.open(path).size == (1360, 1000)


def test_train_a_prompt_and_watch_it_progress(page, tmp_path):
    sync = sync_api
    page.get_by_role("tab", name="Train").click()
    page.locator("#train-prompt textarea").fill("a face with freckles")
    # The prompt's words suggest a preset, which says what it changes; the time here is said before Start.
    sync.expect(page.locator("#train-region input")).to_have_value("colour")
    sync.expect(page.locator("#train-preset-help")).to_contain_text("colour only")
    sync.expect(page.locator("#train-estimate")).to_contain_text("s per step", timeout=120_000)
    page.get_by_role("button", name="Start training").click()
    sync.expect(page.get_by_text("is ready")).to_be_visible(timeout=180_000)
    screenshot(page, tmp_path, "train.png")
    page.get_by_role("tab", name="Edit").click()
    sync.expect(page.locator("#edit-choices")).to_contain_text("★ A face with freckles")
