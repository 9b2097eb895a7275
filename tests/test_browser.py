"""End to end in a real browser: Playwright drives Debian's chromium against the app (tiny profile).

Playwright cannot download its own browsers here, so it launches /usr/bin/chromium (`apt-get install
chromium`, done by .ci/run). Screenshots go to $FEAT_SCREENSHOTS when set (the README's come from
`FEAT_SCREENSHOTS=docs/screenshots pytest tests/test_browser.py`), else to the test's temp folder.

Two pages share one server: a desktop (1366×900) and a phone (390×844). Tests on one page run in
order and build on each other (photo, then edits, then sliders), as a visitor's session would.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image
from ports import free_port

from feat_space.registry.registry import load_registry
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
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
ASTRONAUT = next(p for p in EXAMPLES if "astronaut" in p)
HOPPER = next(p for p in EXAMPLES if "grace_hopper" in p)
PURPLE = "Purple hair · hair (untrained demo)"

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is a dev dependency")
expect = sync_api.expect
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)"
)


@pytest.fixture(scope="module")
def examples_cache(tmp_path_factory) -> Path:
    """This app's example cache: a fresh folder, not the checkout's .gradio/ (which may hold a stale cache)."""
    return tmp_path_factory.mktemp("examples-cache")


@pytest.fixture(scope="module")
def url(examples_cache, tiny_session):
    before = os.environ.get("GRADIO_EXAMPLES_CACHE")
    os.environ["GRADIO_EXAMPLES_CACHE"] = str(examples_cache)
    context = AppContext(tiny_session, load_registry(), Limits(max_steps=50))
    demo = build_app(context=context)
    _, url, _ = demo.launch(
        server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True, **launch_options()
    )
    try:
        yield url
    finally:
        demo.close()
        if before is None:
            os.environ.pop("GRADIO_EXAMPLES_CACHE", None)
        else:
            os.environ["GRADIO_EXAMPLES_CACHE"] = before


@pytest.fixture(scope="module")
def browser(url):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser, url, viewport, **device):
    page = browser.new_page(viewport=viewport, **device)
    page.set_default_timeout(60_000)
    page.goto(url)
    expect(page.locator("#model-status")).to_contain_text("Models ready", timeout=90_000)
    return page


@pytest.fixture(scope="module")
def page(browser, url):
    page = open_page(browser, url, DESKTOP)
    yield page
    page.close()


@pytest.fixture(scope="module")
def phone(browser, url):
    page = open_page(browser, url, PHONE, is_mobile=True, has_touch=True)
    yield page
    page.close()


def screenshot(page, tmp_path: Path, name: str, *, top: bool = True) -> Path:
    folder = Path(os.environ.get("FEAT_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if top:
        page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(400)
    page.screenshot(path=str(path))
    # A 256-colour PNG: a few hundred kB instead of megabytes in the repository.
    Image.open(path).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path


def edited_pixels(page) -> tuple[str, np.ndarray]:
    """The "after" side of the result slider: its URL and its pixels."""
    src = page.locator("#result img").nth(1).get_attribute("src")
    body = page.request.get(src).body()
    return src, np.asarray(Image.open(io.BytesIO(body)).convert("RGB"), dtype=np.int16)


def changed(edited: np.ndarray, photo: str) -> float:
    """Fraction of the photo's pixels the edit changed."""
    original = np.asarray(Image.open(photo).convert("RGB"), dtype=np.int16)
    return float((np.abs(edited - original).max(axis=-1) > 8).mean())


def drag_strength(page, at: float, by: float):
    """Grab the first strength slider's thumb (at `at` on [-3, 3]), drag it by `by` of the track in five
    moves and keep holding it (release with `page.mouse.up()`). Returns the track."""
    track = page.locator(".feat-strength input[type=range]").first
    track.scroll_into_view_if_needed()  # the mouse acts only inside the viewport
    box = track.bounding_box()
    y = box["y"] + box["height"] / 2
    x = box["x"] + box["width"] * (at + 3) / 6
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 6):
        page.mouse.move(x + step * box["width"] * by / 5, y)
    return track


def compare_handle_stays_on_the_photo_and_moves_by_keyboard(page) -> None:
    """The before/after handle: keyboard-movable, and never beyond the photo's edges (keys or mouse)."""
    handle = page.locator("#result [data-testid=slider]")
    handle.scroll_into_view_if_needed()

    def centre() -> float:
        box = handle.bounding_box()
        return box["x"] + box["width"] / 2

    # Where the photo is drawn inside its <img> box (fitted, as `object-fit: contain`).
    photo = page.locator("#result img").first.evaluate(
        """(img) => { const b = img.getBoundingClientRect();
          const k = Math.min(b.width / img.naturalWidth, b.height / img.naturalHeight);
          const w = img.naturalWidth * k, h = img.naturalHeight * k;
          return {x: b.left + (b.width - w) / 2, y: b.top + (b.height - h) / 2, width: w, height: h}; }"""
    )
    handle.focus()
    start = centre()
    page.keyboard.press("ArrowLeft")
    page.wait_for_timeout(200)
    assert centre() < start - 1, "an arrow key moves it"
    page.keyboard.press("End")
    page.wait_for_timeout(200)
    assert abs(centre() - (photo["x"] + photo["width"])) <= 2, "End: the photo's right edge"
    box = page.locator("#result").bounding_box()
    page.mouse.move(centre(), photo["y"] + photo["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + 2, photo["y"] + photo["height"] / 2, steps=5)  # past the photo, to the box's edge
    page.mouse.up()
    page.wait_for_timeout(200)
    assert centre() >= photo["x"] - 2, (centre(), photo)
    page.keyboard.press("Tab")  # leave it; the split is back at the middle for the tests that follow
    handle.focus()
    page.keyboard.press("Home")
    for _ in range(10):
        page.keyboard.press("ArrowRight")


def upload(page, photo: str) -> None:
    page.locator("#photo input[type=file]").set_input_files(photo)


# -- desktop ---------------------------------------------------------------------------------------


def test_the_edit_button_is_above_the_fold_on_a_desktop(page):
    expect(page.locator("#notice")).to_contain_text("UNTRAINED")
    expect(page.locator("#model-status")).to_contain_text(re.compile(r"cpu · (fp32|bf16)"))  # device, precision
    box = page.locator("#run-edit").bounding_box()
    assert box["y"] + box["height"] <= DESKTOP["height"], box
    # Each edit is listed once on the Edit tab, as a checkbox (click or keyboard).
    assert page.locator("#edit-choices input[type=checkbox]").count() == len(load_registry())
    assert page.locator(".feat-card:visible").count() == 0, "the catalogue's cards are on the About tab"


def test_after_a_photo_is_prepared_the_edit_button_stays_above_the_fold(page, tmp_path):
    upload(page, HOPPER)
    expect(page.locator("#photo-status")).to_contain_text("Face 0 found", timeout=120_000)
    expect(page.locator("#photo-status")).to_contain_text("roughly")  # random weights: the hint shows
    expect(page.locator("#aligned img")).to_be_visible()
    box = page.locator("#run-edit").bounding_box()
    screenshot(page, tmp_path, "edit-prepared.png")
    assert box["y"] + box["height"] <= DESKTOP["height"], box
    # Ticking an edit adds its description and strength slider below the button, not above it.
    page.locator("#edit-choices").get_by_label(PURPLE).check()
    expect(page.locator("#edit-descriptions")).to_contain_text("Purple hair")
    box = page.locator("#run-edit").bounding_box()
    assert box["y"] + box["height"] <= DESKTOP["height"], box
    # The untrained models are said once on the page, in words a visitor understands.
    assert page.get_by_text(re.compile("UNTRAINED")).count() == 1
    expect(page.locator("#notice")).not_to_contain_text("FEAT_PROFILE")


def test_one_click_on_an_example_shows_a_finished_result(page, tmp_path, examples_cache):
    assert not list(examples_cache.rglob("*.csv")), "nothing is computed for the examples at start-up"
    page.get_by_role("button", name="Astronaut · purple hair").click()
    expect(page.locator("#edit-info")).to_contain_text("Edited: Purple hair 1", timeout=120_000)
    expect(page.locator("#result img")).to_have_count(2)
    assert [img.get_attribute("alt") for img in page.locator("#result img").all()] == [
        "Your photo, before the edit",
        "Your photo, edited",
    ]
    expect(page.locator("#edit-choices").get_by_label(PURPLE)).to_be_checked()
    expect(page.locator(".feat-strength input[type=range]")).to_have_count(1)
    expect(page.locator("#download")).to_be_visible()
    _, edited = edited_pixels(page)
    assert 0 < changed(edited, ASTRONAUT) < 0.5, "the example's photo, edited in one region"
    assert list(examples_cache.rglob("*.csv")), "cached on its first click"
    unnamed = page.locator("#photo img:not([alt]), #results img:not([alt]), #photo img[alt=''], #results img[alt='']")
    assert unnamed.count() == 0, "every image has alt text"
    screenshot(page, tmp_path, "edit.png")


def test_ticking_an_edit_keeps_the_strengths_and_threshold_already_set(page):
    strength = page.locator(".feat-strength").first
    number = strength.locator("input[type=number]")
    number.fill("2.5")
    number.press("Enter")
    expect(page.locator("#edit-info")).to_contain_text("Purple hair 2.5", timeout=120_000)
    threshold = page.locator("#threshold input[type=range]")
    threshold.focus()
    for _ in range(3):  # the threshold by keyboard: 0.3 → 0.45
        page.keyboard.press("ArrowRight")
    expect(page.locator("#threshold input[type=number]")).to_have_value("0.45")
    lipstick = page.locator("#edit-choices").get_by_label("Red lipstick · lips (untrained demo)")
    lipstick.focus()
    page.keyboard.press("Space")  # selectable by keyboard
    expect(lipstick).to_be_checked()
    expect(page.locator(".feat-strength")).to_have_count(2)
    expect(page.locator(".feat-strength input[type=number]").first).to_have_value("2.5")
    second = page.locator(".feat-strength input[type=number]").nth(1)
    second.fill("0.5")  # the lipstick's own strength, kept for when it is ticked again
    second.press("Enter")
    expect(page.locator("#edit-info")).to_contain_text("Red lipstick 0.5", timeout=120_000)
    lipstick.focus()
    page.keyboard.press("Space")
    expect(lipstick).not_to_be_checked()
    expect(page.locator(".feat-strength")).to_have_count(1)
    expect(page.locator(".feat-strength input[type=number]").first).to_have_value("2.5")
    expect(page.locator("#threshold input[type=number]")).to_have_value("0.45"), "not reset to an edit's default"


def test_dragging_a_slider_updates_the_image(page):
    page.locator("#run-edit").click()  # the unticked lipstick's strength is not part of this edit
    expect(page.locator("#edit-info")).to_contain_text("Edited: Purple hair 2.5", timeout=120_000)
    expect(page.locator("#edit-info")).not_to_contain_text("Red lipstick")
    before, _ = edited_pixels(page)
    drag_strength(page, at=2.5, by=-0.3)
    # Still holding the thumb: the live preview has replaced the picture.
    expect(page.locator("#edit-info")).to_contain_text("Preview", timeout=60_000)
    assert edited_pixels(page)[0] != before
    page.mouse.up()
    expect(page.locator("#edit-info")).to_contain_text("Edited: Purple hair", timeout=120_000)
    expect(page.locator("#edit-info")).not_to_contain_text("Purple hair 2.5")
    after, pixels = edited_pixels(page)
    assert after != before
    assert pixels.shape[:2] == Image.open(ASTRONAUT).size[::-1], "full size on release"


def test_a_strength_set_by_keyboard_ends_in_the_full_photo_and_downloads_what_is_shown(page, url):
    """Arrow keys on the slider, or a typed value and Enter, end like a drag: in a full-size render, whose
    download is byte for byte what `/edit` makes of the values on screen (not the previous result)."""
    number = page.locator(".feat-strength input[type=number]").first
    number.fill("1.2")
    number.press("Enter")
    expect(page.locator("#edit-info")).to_contain_text("Edited: Purple hair 1.2", timeout=120_000)
    track = page.locator(".feat-strength input[type=range]").first
    track.focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    expect(number).to_have_value("1.4")
    expect(page.locator("#edit-info")).to_contain_text("Edited: Purple hair 1.4", timeout=120_000)
    expect(page.locator("#download")).to_be_visible()
    with page.expect_download() as download:
        page.locator("#download").click()
    threshold = float(page.locator("#threshold input[type=number]").input_value())
    expect(page.locator("#edit-info")).to_contain_text(f"mask threshold {threshold:g}")
    api, *_ = Client(url, verbose=False).predict(
        photo=handle_file(ASTRONAUT),
        edits=["registry:purple-hair"],
        strengths={"registry:purple-hair": 1.4},
        threshold=threshold,
        api_name="/edit",
    )
    downloaded = np.asarray(Image.open(download.value.path()).convert("RGB"))
    assert np.array_equal(downloaded, np.asarray(Image.open(api).convert("RGB"))), "the download is what is shown"


def test_the_mask_toggle_overlays_the_mask(page):
    plain, pixels = edited_pixels(page)
    page.get_by_label("Show where the edit applies (mask in red)").check()
    expect(page.locator("#result img").nth(1)).not_to_have_attribute("src", plain)
    _, overlaid = edited_pixels(page)
    redder = overlaid[..., 0] - overlaid[..., 1:].mean(-1) > pixels[..., 0] - pixels[..., 1:].mean(-1)
    assert redder.mean() > 0.01, "the edited region is tinted red"
    page.get_by_label("Show where the edit applies (mask in red)").uncheck()


def test_the_before_after_handle_stays_on_the_photo_and_moves_by_keyboard(page):
    compare_handle_stays_on_the_photo_and_moves_by_keyboard(page)


def test_the_brush_restricts_the_edit(page):
    _, unrestricted = edited_pixels(page)
    page.get_by_text("Brush: paint where the edit may or must apply").click()
    brush = page.locator("#brush")
    brush.scroll_into_view_if_needed()
    brush.get_by_role("button", name="Brush", exact=True).click()
    box = brush.locator("canvas").first.bounding_box()
    x, y = box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.3
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 11):  # a short stroke on the "Restrict" layer (the first one)
        page.mouse.move(x + step * 4, y + step * 2)
    page.mouse.up()
    page.locator("#run-edit").click()
    expect(page.locator("#edit-info")).to_contain_text("· brush ·", timeout=120_000)
    _, restricted = edited_pixels(page)
    assert 0 < changed(restricted, ASTRONAUT) < 0.25 * changed(unrestricted, ASTRONAUT)


def test_the_brush_extends_the_edit(page):
    brush = page.locator("#brush")
    brush.get_by_role("button", name="Clear canvas").click()
    number = page.locator("#threshold input[type=number]")
    number.fill("0.95")  # the learned mask, thresholded to almost nothing
    number.press("Enter")
    expect(page.locator("#edit-info")).to_contain_text("mask threshold 0.95", timeout=120_000)
    expect(page.locator("#edit-info")).not_to_contain_text("brush")
    _, narrow = edited_pixels(page)
    brush.scroll_into_view_if_needed()
    brush.get_by_role("button", name="Show Layers").click()
    brush.get_by_role("button", name="layer-2").click()  # "Extend: always edit here"
    brush.get_by_role("button", name="Brush", exact=True).click()
    box = brush.locator("canvas").first.bounding_box()
    for row in range(6):  # a patch over the forehead and hair
        x, y = box["x"] + box["width"] * 0.35, box["y"] + box["height"] * (0.2 + row * 0.03)
        page.mouse.move(x, y)
        page.mouse.down()
        for step in range(1, 11):
            page.mouse.move(x + step * box["width"] * 0.03, y)
        page.mouse.up()
    page.locator("#run-edit").click()
    expect(page.locator("#edit-info")).to_contain_text("· brush ·", timeout=120_000)
    _, extended = edited_pixels(page)
    assert changed(narrow, ASTRONAUT) < 0.002, "at 0.95 the learned mask leaves the photo as it was"
    assert changed(extended, ASTRONAUT) > 0.01, "the painted patch is edited all the same"


def test_train_a_prompt_and_watch_it_progress(page, tmp_path):
    page.get_by_role("tab", name="Train").click()
    page.locator("#train-prompt textarea").fill("a face with freckles")
    # The prompt's words suggest a preset, which says what it changes; the time here is said before Start.
    expect(page.locator("#train-region input")).to_have_value("colour")
    expect(page.locator("#train-preset-help")).to_contain_text("colour only")
    expect(page.locator("#train-estimate")).to_contain_text("s per step", timeout=120_000)
    page.get_by_role("button", name="Start training").click()
    expect(page.get_by_text("is ready")).to_be_visible(timeout=180_000)
    screenshot(page, tmp_path, "train.png")
    page.get_by_role("tab", name="Edit").click()
    expect(page.locator("#edit-choices")).to_contain_text("★ Freckles")  # named by its prompt's own word


# -- phone -----------------------------------------------------------------------------------------


def test_on_a_phone_the_examples_have_thumbnails_and_no_empty_box_before_them(phone, tmp_path):
    # Empty, the before/after would stand between the controls and the examples: they come first.
    assert phone.locator("#examples").bounding_box()["y"] < phone.locator("#result").bounding_box()["y"]
    thumbnails = phone.locator("#examples img.feat-thumb")
    expect(thumbnails).to_have_count(3)
    phone.locator("#examples").scroll_into_view_if_needed()
    for thumbnail in thumbnails.all():
        expect(thumbnail).to_be_in_viewport()
        assert thumbnail.evaluate("(img) => img.complete && img.naturalWidth > 0"), "the example's photo loads"
    screenshot(phone, tmp_path, "edit-phone-examples.png", top=False)
    # The brush: its toolbar leaves its label readable, and a vertical swipe on it scrolls the page.
    phone.get_by_text("Brush: paint where the edit may or must apply").click()
    brush = phone.locator("#brush")
    brush.scroll_into_view_if_needed()
    label = brush.locator("[data-testid=block-label]").bounding_box()
    toolbar = brush.locator(".top-panel").bounding_box()
    assert label["x"] + label["width"] <= toolbar["x"] or toolbar["y"] >= label["y"] + label["height"], (label, toolbar)
    assert brush.locator("canvas").first.evaluate("(c) => getComputedStyle(c).touchAction") == "pan-y"
    phone.get_by_text("Brush: paint where the edit may or must apply").click()  # closed again


def test_on_a_phone_progress_and_result_are_in_view_after_tapping_edit(phone, tmp_path):
    upload(phone, HOPPER)
    expect(phone.locator("#photo-status")).to_contain_text("Face 0 found", timeout=120_000)
    # Prepared on upload: the aligned face and the generator's rendering of it are shown, named.
    for name, alt in (("aligned", "Your face, aligned"), ("reconstruction", "The generator's rendering")):
        expect(phone.locator(f"#{name} img")).to_be_visible()
        expect(phone.locator(f"#{name} img")).to_have_attribute("alt", re.compile(alt))
    phone.locator("#edit-choices").get_by_label(PURPLE).check()
    phone.locator("#run-edit").tap()
    expect(phone.locator("#results")).to_be_in_viewport(timeout=5_000)  # while it runs: progress shows there
    expect(phone.locator("#edit-info")).to_contain_text("Edited: Purple hair", timeout=120_000)
    expect(phone.locator("#result")).to_be_in_viewport(ratio=1)  # the whole before/after, no scrolling
    screenshot(phone, tmp_path, "edit-phone.png", top=False)


def test_on_a_phone_the_preview_is_in_view_while_a_strength_is_dragged(phone, tmp_path):
    track = drag_strength(phone, at=1.0, by=-0.25)
    expect(phone.locator("#edit-info")).to_contain_text("Preview", timeout=60_000)
    # The preview is pinned in view, clear of the slider the finger holds.
    expect(phone.locator("#result")).to_be_in_viewport(ratio=1)
    pinned, held = phone.locator("#result").bounding_box(), track.bounding_box()
    assert held["y"] + held["height"] <= pinned["y"] or held["y"] >= pinned["y"] + pinned["height"], (pinned, held)
    screenshot(phone, tmp_path, "edit-phone-dragging.png", top=False)
    phone.mouse.up()
    expect(phone.locator("#edit-info")).to_contain_text("Edited: Purple hair", timeout=120_000)


def test_on_a_phone_the_before_after_handle_stays_on_the_photo_and_moves_by_keyboard(phone):
    compare_handle_stays_on_the_photo_and_moves_by_keyboard(phone)


def test_an_error_clears_the_previous_photo_s_outputs(phone, tmp_path):
    wall = tmp_path / "wall.png"
    gradient = np.linspace(0, 255, 256, dtype=np.uint8)
    Image.fromarray(np.stack([np.tile(gradient, (256, 1))] * 3, axis=-1)).save(wall)
    expect(phone.locator("#download")).to_be_visible()
    upload(phone, str(wall))
    expect(phone.locator("#photo-status")).to_contain_text("No face was found", timeout=120_000)
    expect(phone.locator("#result img")).to_have_count(0)
    expect(phone.locator("#download")).to_be_hidden()
    expect(phone.locator("#aligned")).to_be_hidden()
    expect(phone.locator("#reconstruction")).to_be_hidden()
    expect(phone.locator("#edit-info")).not_to_contain_text("Edited")
    assert phone.locator(".error:visible").count() == 0, "no bare error pill on the outputs"


# Holds the edit results that reach the page (Gradio's client hands each server message to
# `setTimeout`) while `window.featHold` is set, until `window.featRelease()`: a result still on its way.
HOLD_RESULTS = """() => {
  const schedule = window.setTimeout;
  window.featHeld = [];
  window.setTimeout = (callback, delay, ...args) => {
    const msg = args[0];
    if (window.featHold && msg && msg.msg === "process_completed" && JSON.stringify(msg).includes("Edited")) {
      window.featHeld.push(() => callback(...args));
      return 0;
    }
    return schedule(callback, delay, ...args);
  };
  window.featRelease = () => { window.featHold = false; window.featHeld.splice(0).forEach((f) => f()); };
}"""


def test_an_edit_of_the_previous_photo_landing_late_is_cleared(phone):
    """The worst timing, forced: an edit of the last photo (or face), sent before the server knew of
    the new one, reaches the page after the new one was given (and prepared). The page must not show it."""
    upload(phone, HOPPER)
    expect(phone.locator("#photo-status")).to_contain_text("Face 0 found", timeout=120_000)
    hopper = phone.locator("#aligned img").get_attribute("src")
    phone.locator("#edit-choices").get_by_label(PURPLE).check()
    phone.evaluate(HOLD_RESULTS)

    def edit_and_hold() -> None:
        phone.evaluate("window.featHold = true")
        phone.locator("#run-edit").tap()
        phone.wait_for_function("window.featHeld.length > 0", timeout=120_000)  # the edit's result, held
        phone.evaluate("window.featHold = false")

    def cleared() -> None:
        phone.wait_for_timeout(1_000)
        expect(phone.locator("#result img")).to_have_count(0)
        expect(phone.locator("#download")).to_be_hidden()
        expect(phone.locator("#edit-info")).not_to_contain_text("Edited")

    # Held and let go with nothing changed meanwhile, a result shows as usual.
    edit_and_hold()
    phone.evaluate("window.featRelease()")
    expect(phone.locator("#edit-info")).to_contain_text("Edited: Purple hair", timeout=60_000)
    expect(phone.locator("#result img")).to_have_count(2)

    # Another photo meanwhile.
    edit_and_hold()
    upload(phone, ASTRONAUT)
    expect(phone.locator("#aligned img")).not_to_have_attribute("src", hopper, timeout=120_000)
    expect(phone.locator("#photo-status")).to_contain_text("Face 0 found")  # the astronaut, prepared
    phone.evaluate("window.featRelease()")  # the result for Grace Hopper lands now
    cleared()
    # The mask toggle shows the kept result only if it is of this photo: here it edits the astronaut.
    phone.get_by_label("Show where the edit applies (mask in red)").check()
    expect(phone.locator("#edit-info")).to_contain_text("Edited: Purple hair", timeout=120_000)
    _, pixels = edited_pixels(phone)
    assert pixels.shape[:2] == Image.open(ASTRONAUT).size[::-1], "the astronaut, not Grace Hopper"

    # Another face of the same photo meanwhile (the astronaut has one: face 1 is an error).
    edit_and_hold()
    phone.get_by_text("Group photos").click()
    phone.locator("#face input[type=number]").fill("1")
    expect(phone.locator("#photo-status")).to_contain_text("Face 1 was asked for", timeout=120_000)
    phone.evaluate("window.featRelease()")  # the result for face 0 lands now
    cleared()
