"""The clips among `edit`'s inputs: each edited through `video.edit_video`, with a progress bar in frames.

feat-space edit clip.mp4 --edit smile=1.2 --out edited/      # → edited/clip-edited.mp4
feat-space edit clip.mov --edit smile --no-smoothing          # every frame on its own (to compare)

The result keeps the clip's size, frame times and sound (H.264 in MP4). A clip that cannot be edited
(unreadable, too long for `--max-seconds`, too large, no face in any frame) is reported and skipped,
and leaves no file behind.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import FeatError

if TYPE_CHECKING:
    from ..editing.render import EditChoice
    from ..session import Session

SUFFIX = ".mp4"  # whatever the input's container: H.264 in MP4 plays everywhere


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-smoothing",
        action="store_true",
        help="clips: edit every frame on its own (no smoothing of alignment, latents or masks over time)",
    )
    p.add_argument("--max-seconds", type=float, help="clips: refuse clips longer than this (default: any length)")
    p.add_argument("--batch-size", type=int, default=4, help="clips: faces per batch through e4e and synthesis")


def edit_clips(
    args: argparse.Namespace,
    clips: Sequence[Path],
    session: Session,
    chosen: list[EditChoice],
    threshold: float,
    target: Callable[[Path], Path],
    skipped: Counter[str],
) -> int:
    """Edit each clip into `target(clip)`; the number edited. Failures are printed and counted in
    `skipped` by error kind."""
    from tqdm import tqdm

    from ..video import Steadiness, edit_video

    edited = 0
    for clip in clips:
        bar = tqdm(desc=f"{clip.name}", unit="frame", disable=args.no_progress, file=sys.stderr)

        def progress(done: int, total: int, bar: tqdm = bar) -> None:
            bar.total = total  # the file's own count is an estimate for some formats: keep the bar honest
            bar.update(done - bar.n)

        try:
            result = edit_video(
                session,
                clip,
                chosen,
                target(clip),
                threshold=threshold,
                face_index=args.face,
                steadiness=Steadiness.off() if args.no_smoothing else None,
                batch_size=args.batch_size,
                max_seconds=args.max_seconds,
                on_progress=progress,
            )
        except FeatError as e:
            bar.close()
            skipped[type(e).__name__] += 1
            print(f"skipped {clip}: {e}", file=sys.stderr)
            continue
        bar.close()
        edited += 1
        print(result.summary(), file=sys.stderr)
    return edited
