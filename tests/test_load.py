"""A bounded loopback load test: 8 visitors edit at once, 3 rounds each, through the app's API.

Every request must be served (none dropped by the queue, none failed), and every visitor must get
*their own* result: their photo (each visitor's photo has its own size and file name), their strength,
their session's download. The tiny profile on 127.0.0.1; about half a minute on two busy cores.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image, ImageOps
from ports import free_port

from feat_space.registry.registry import load_registry
from feat_space.ui import build_app
from feat_space.ui.context import AppContext, Limits

DATA = Path(__file__).parent / "data"
FAST_EDIT = "registry:purple-hair"  # blends the final RGB: the cheapest edit on a CPU
CLIENTS = 8
ROUNDS = 3
BUDGET_S = 120  # a hung request fails the test instead of hanging the suite


def distinct_photos(folder: Path) -> list[Path]:
    """One photo per visitor, each of its own size: crops of the two test faces, some mirrored or tinted."""
    paths = []
    for i in range(CLIENTS):
        source = Image.open(DATA / ("astronaut.png" if i % 2 else "grace_hopper.jpg")).convert("RGB")
        width, height = source.size
        photo = source.crop((0, 0, width - 8 * i, height - 4 * i))  # a size no other visitor has
        if i % 4 >= 2:
            photo = ImageOps.mirror(photo)
        if i >= 4:
            tint = np.asarray(photo).astype(np.int16) + np.array([12, -8, 0], np.int16)
            photo = Image.fromarray(np.clip(tint, 0, 255).astype(np.uint8))
        path = folder / f"visitor{i}.png"
        photo.save(path)
        paths.append(path)
    assert len({Image.open(p).size for p in paths}) == CLIENTS
    return paths


@pytest.fixture(scope="module")
def app(tiny_session):
    context = AppContext(tiny_session, load_registry(), Limits(gpu_slots=2, queue_size=16))
    demo = build_app(context=context)
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield url
    finally:
        demo.close()


def test_eight_visitors_three_rounds_all_served_without_cross_talk(app, tmp_path):
    photos = distinct_photos(tmp_path)
    clients = [Client(app, verbose=False, download_files=str(tmp_path / f"client{i}")) for i in range(CLIENTS)]

    def visitor(i: int) -> list[tuple[float, tuple]]:
        served = []
        for round_ in range(ROUNDS):
            strength = round(0.5 + 0.25 * i + 0.1 * round_, 2)  # unique to this visitor and round
            job = clients[i].submit(
                photo=handle_file(str(photos[i])),
                edits=[FAST_EDIT],
                strengths={FAST_EDIT: strength},
                threshold=0.3,
                api_name="/edit",
            )
            served.append((strength, job.result(timeout=BUDGET_S)))
        return served

    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(visitor, range(CLIENTS)))
    elapsed = time.monotonic() - started

    assert [len(r) for r in results] == [ROUNDS] * CLIENTS, "every request was served"
    for i, rounds in enumerate(results):
        own_size = Image.open(photos[i]).size
        for strength, outputs in rounds:
            result, info = outputs[0], outputs[-1]
            assert Image.open(result).size == own_size, f"visitor {i} got another visitor's photo"
            assert f"Purple hair {strength:g} ·" in info, f"visitor {i} got another request's settings"
    first, last = (np.asarray(Image.open(results[0][k][1][0])) for k in (0, ROUNDS - 1))
    assert not np.array_equal(first, last), "different strengths, different pictures"
    assert elapsed < BUDGET_S
