"""Decoding a clip frame by frame (PyAV, which ships its own FFmpeg): upright RGB frames with their times,
and the sound's packets handed on as they come, so nothing but the frame in hand is held in memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from ..errors import VideoReadError, VideoTooLongError
from .clip_info import ClipInfo, ffmpeg_reason, open_container, too_long

LENGTH_SLACK = 0.5  # s: a clip's frames may run this far past the limit (rounding, the last frame's duration)


@dataclass(frozen=True)
class Frame:
    """One frame as it plays: upright RGB, and when it shows."""

    rgb: np.ndarray  # [H, W, 3] uint8
    pts: int  # in the clip's `ClipInfo.time_base`
    time: float  # seconds
    index: int


class ClipReader:
    """A clip opened for decoding (a context manager). `frames(on_audio)` yields its frames in order and
    hands each sound packet to `on_audio` as the demuxer meets it."""

    def __init__(self, path: str | Path, info: ClipInfo, *, max_seconds: float | None = None) -> None:
        self.path, self.info, self.max_seconds = Path(path), info, max_seconds
        self.container = open_container(path)
        self.video = self.container.streams.video[0]
        self.video.thread_type = "AUTO"
        self.audio = self.container.streams.audio[0] if self.container.streams.audio else None

    def __enter__(self) -> ClipReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.container.close()

    def frames(self, on_audio: Callable[[av.Packet], None] | None = None) -> Iterator[Frame]:
        streams = [self.video] + ([self.audio] if self.audio is not None and on_audio is not None else [])
        index, last_pts = 0, None
        try:
            for packet in self.container.demux(*streams):
                if packet.stream.type == "audio":
                    assert on_audio is not None
                    on_audio(packet)
                    continue
                for frame in packet.decode():
                    assert isinstance(frame, av.VideoFrame)
                    pts = self._pts(frame, last_pts)
                    last_pts = pts
                    time = float(pts * self.info.time_base)
                    if self.max_seconds is not None and time > self.max_seconds + LENGTH_SLACK:
                        raise VideoTooLongError(too_long(self.info.name, time, self.max_seconds))
                    yield Frame(self._upright(frame), pts, time, index)
                    index += 1
        except av.FFmpegError as e:
            raise VideoReadError(
                f"{self.info.name!r} is truncated or corrupt: decoding stopped after {index} frame(s) "
                f"({ffmpeg_reason(e)}). Export or record the clip again."
            ) from None

    def _pts(self, frame: av.VideoFrame, last: int | None) -> int:
        """The frame's timestamp, strictly after the last one (a missing or repeated one is made up)."""
        pts = frame.pts
        if pts is None:
            step = round(1 / (self.info.rate * self.info.time_base)) if self.info.rate else 1
            pts = 0 if last is None else last + max(step, 1)
        if last is not None and pts <= last:
            pts = last + 1
        return int(pts)

    def _upright(self, frame: av.VideoFrame) -> np.ndarray:
        rgb: np.ndarray = frame.to_ndarray(format="rgb24")
        if self.info.quarter_turns:
            rgb = np.ascontiguousarray(np.rot90(rgb, self.info.quarter_turns))
        return rgb


__all__ = ["ClipReader", "Frame"]
