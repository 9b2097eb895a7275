"""Writing the edited clip: H.264 in MP4 (PyAV's own FFmpeg), each frame at its input time, with the sound.

Timestamps are copied from the input frames, so the frame rate is the input's, variable rates
included. Sound is copied as it is when MP4 carries it (AAC, MP3), else re-encoded to AAC. The clip is
written to a `.part` file beside the target and renamed into place only when complete: a failure
leaves nothing on disk.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import av
import numpy as np

from .clip_info import ClipInfo

COPIED_AUDIO = {"aac", "mp3"}  # what MP4 holds as it is
CRF = "18"  # x264's constant quality: visually lossless, so the edit is what changes
DEFAULT_RATE = 30  # the nominal rate when a file gives none (timestamps still rule)


class ClipWriter:
    """A context manager: `write(rgb, pts)` per frame, `audio(packet)` per sound packet; complete on a
    clean exit, removed on an exception."""

    def __init__(self, path: str | Path, info: ClipInfo, audio: av.audio.stream.AudioStream | None = None) -> None:
        self.path = Path(path)
        self.part = self.path.with_name(self.path.name + ".part")
        self.container = av.open(str(self.part), mode="w", format="mp4", options={"movflags": "+faststart"})
        try:
            self.video = self.container.add_stream("libx264", rate=info.rate or DEFAULT_RATE)
            self.video.width, self.video.height = info.width, info.height
            # 4:2:0 needs even sides; an odd-sized clip keeps its size in 4:4:4 (fewer players take it).
            even = info.width % 2 == 0 and info.height % 2 == 0
            self.video.pix_fmt = "yuv420p" if even else "yuv444p"
            self.video.time_base = info.time_base
            self.video.codec_context.time_base = info.time_base
            self.video.options = {"crf": CRF, "preset": "veryfast"}
            self.time_base = info.time_base
            self.copy_audio = audio is not None and audio.codec_context.name in COPIED_AUDIO
            self.sound: av.audio.stream.AudioStream | None = None
            if audio is not None:
                if self.copy_audio:
                    self.sound = self.container.add_stream_from_template(audio)
                else:
                    self.sound = self.container.add_stream("aac", rate=audio.codec_context.sample_rate or 48000)
        except BaseException:
            self.abort()
            raise

    def __enter__(self) -> ClipWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    def write(self, rgb: np.ndarray, pts: int) -> None:
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts, frame.time_base = pts, self.time_base
        for packet in self.video.encode(frame):
            self.container.mux(packet)

    def audio(self, packet: av.Packet) -> None:
        if self.sound is None or packet.dts is None:  # a demuxer's flush packet carries nothing
            return
        if self.copy_audio:
            packet.stream = self.sound
            self.container.mux(packet)
            return
        for frame in packet.decode():
            assert isinstance(frame, av.AudioFrame)
            for out in self.sound.encode(frame):
                self.container.mux(out)

    def close(self) -> None:
        try:
            for packet in self.video.encode():
                self.container.mux(packet)
            if self.sound is not None and not self.copy_audio:
                for packet in self.sound.encode():
                    self.container.mux(packet)
            self.container.close()
        except BaseException:
            self.abort()
            raise
        os.replace(self.part, self.path)

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # already failing: what matters is that the file goes
            self.container.close()
        self.part.unlink(missing_ok=True)


__all__ = ["ClipWriter"]
