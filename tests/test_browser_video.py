"""The Video tab in a real browser (the app's own server and Debian's chromium, as `test_browser`):
a short clip is uploaded, edited, and the result plays beside it; a clip over the limit is refused."""

from __future__ import annotations

import pytest
from clips import write_clip
from test_browser import CHROMIUM, DESKTOP, browser, examples_cache, open_page, screenshot, url  # noqa: F401 - fixtures
from test_video import blank, face_frames

from feat_space.ui.video_tab import MAX_SECONDS_ENV

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is a dev dependency")
expect = sync_api.expect
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)"
)


@pytest.fixture(scope="module", autouse=True)
def short_limit():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(MAX_SECONDS_ENV, "2")
        yield


@pytest.fixture(scope="module")
def page(browser, url):  # noqa: F811 - the fixtures imported above
    page = open_page(browser, url, DESKTOP)
    page.get_by_role("tab", name="Video").click()
    yield page
    page.close()


def test_a_clip_is_edited_and_the_result_plays(page, tmp_path):
    clip = write_clip(tmp_path / "me.mp4", face_frames(3), rate=10, audio="aac")
    page.locator("#video-input input[type=file]").set_input_files(str(clip))
    expect(page.locator("#video-about")).to_contain_text("448×384", timeout=30_000)
    page.locator("#video-run").click()
    expect(page.locator("#video-message")).to_contain_text("Edited the face in 3 of 3 frames", timeout=240_000)
    page.wait_for_function(
        "() => { const v = document.querySelector('#video-result video'); return v && v.readyState >= 1; }",
        timeout=30_000,
    )
    played = page.evaluate(
        """async () => {
            const v = document.querySelector('#video-result video');
            v.muted = true;
            await v.play();
            await new Promise(r => setTimeout(r, 600));
            return {time: v.currentTime, width: v.videoWidth, height: v.videoHeight, error: v.error && v.error.code};
        }"""
    )
    assert played["error"] is None and played["time"] > 0, played
    assert (played["width"], played["height"]) == (448, 384), played
    expect(page.locator("#video-download")).to_contain_text(".mp4")
    page.evaluate("document.querySelector('#video-result video').pause()")
    page.locator("#video-input").scroll_into_view_if_needed()
    screenshot(page, tmp_path, "video.png", top=False)  # docs/screenshots/video.png with FEAT_SCREENSHOTS


def test_a_clip_over_the_limit_is_refused_when_it_arrives(page, tmp_path):
    page.reload()
    page.get_by_role("tab", name="Video").click()
    clip = write_clip(tmp_path / "long.mp4", blank(30), rate=10)  # 3 s, over the 2 s limit set above
    page.locator("#video-input input[type=file]").set_input_files(str(clip))
    expect(page.locator("#video-about")).to_contain_text("clips up to 2 s are accepted", timeout=30_000)
