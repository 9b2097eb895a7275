"""What a clip is, read before any work: its size, rotation, frame rate, length and sound; and the limits.

Everything a person can get wrong about a clip is refused here with a message saying what to do, before
a frame is edited: a file that is not a video (or is sound only), a truncated or corrupt one, a clip
longer than allowed or with frames larger than accepted. Decoding (`decoding`) checks the length again
as it goes, since a file's header can claim less than it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from ..errors import VideoReadError, VideoTooLargeError, VideoTooLongError

MAX_PIXELS = 3840 * 2160  # 4K UHD: each frame is aligned and pasted back in full resolution
# What the command line treats as a clip rather than a photo.
VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ogv", ".3gp"}
_FORMATS = "an MP4, MOV, WebM or MKV clip"


@dataclass(frozen=True)
class ClipInfo:
    """A clip's video stream as it plays: `width` × `height` upright (after `quarter_turns`)."""

    name: str
    width: int
    height: int
    quarter_turns: int  # counter-clockwise quarter turns (np.rot90's k) that make the frames upright
    rate: Fraction | None  # average frames per second (None: the file does not say)
    time_base: Fraction  # of the video stream's timestamps
    duration: float  # seconds
    frames: int  # frames, as the file says or estimated from duration × rate (a progress bar's total)
    audio: str | None  # the sound's codec, None for a silent clip


def open_container(path: str | Path) -> av.container.InputContainer:
    """The file opened for reading, or a `VideoReadError` saying it is not a video."""
    name = Path(path).name
    try:
        return av.open(str(path), mode="r")
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as e:
        raise VideoReadError(
            f"Could not read {name!r} as a video ({ffmpeg_reason(e)}): it is not a video file, or it is truncated or "
            f"corrupt. Use {_FORMATS}."
        ) from None


def probe_clip(path: str | Path, *, max_seconds: float | None = None, max_pixels: int = MAX_PIXELS) -> ClipInfo:
    """Read a clip's header and its first frame; refuse what cannot or may not be edited."""
    name = Path(path).name
    with open_container(path) as container:
        if not container.streams.video:
            what = "only sound" if container.streams.audio else "no picture"
            raise VideoReadError(f"{name!r} has {what}, no video stream to edit. Use {_FORMATS} showing a face.")
        stream = container.streams.video[0]
        audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
        width, height = stream.codec_context.width, stream.codec_context.height
        if width * height > max_pixels:
            raise VideoTooLargeError(
                f"{name!r} is {width}×{height}: frames larger than {max_pixels / 1e6:.1f} megapixels "
                "(4K) are not accepted. Export the clip at a lower resolution (1080p is plenty for a face)."
            )
        time_base = stream.time_base or Fraction(1, 90000)
        duration = _duration(container, stream, time_base)
        if max_seconds is not None and duration > max_seconds:
            raise VideoTooLongError(too_long(name, duration, max_seconds))
        first = _first_frame(container, stream, name)
        rate = stream.average_rate or stream.guessed_rate
        frames = stream.frames or (max(1, round(duration * float(rate))) if rate else 1)
        # FFmpeg's display rotation is counter-clockwise degrees (a phone's portrait clip: -90).
        turns = round((first.rotation or 0) / 90) % 4
        if turns % 2:
            width, height = height, width
        return ClipInfo(
            name=name,
            width=width,
            height=height,
            quarter_turns=turns,
            rate=Fraction(rate) if rate else None,
            time_base=Fraction(time_base),
            duration=duration,
            frames=int(frames),
            audio=audio,
        )


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream, time_base) -> float:
    if stream.duration:
        return float(stream.duration * time_base)
    if container.duration:
        return container.duration / av.time_base
    # No length in the header (a browser's recording): the last packet's end, read without decoding.
    last = 0.0
    try:
        for packet in container.demux(stream):
            if packet.pts is not None:
                last = max(last, float((packet.pts + (packet.duration or 0)) * time_base))
    except av.FFmpegError as e:
        raise VideoReadError(f"{container.name!r} is truncated or corrupt ({ffmpeg_reason(e)}).") from None
    container.seek(0)
    return last


def _first_frame(container: av.container.InputContainer, stream, name: str) -> av.VideoFrame:
    try:
        for frame in container.decode(stream):
            return frame
    except av.FFmpegError as e:
        raise VideoReadError(
            f"{name!r} is truncated or corrupt: its first frame cannot be decoded ({ffmpeg_reason(e)}). "
            f"Export or record the clip again."
        ) from None
    raise VideoReadError(f"{name!r} has a video stream without a single readable frame. Export or record it again.")


def too_long(name: str, seconds: float, limit: float) -> str:
    return (
        f"{name!r} lasts {seconds:.1f} s; clips up to {limit:g} s are accepted here. Trim it to the part "
        "you want edited."
    )


def ffmpeg_reason(error: BaseException) -> str:
    text = getattr(error, "strerror", None) or str(error)
    return text.strip().rstrip(".") or type(error).__name__


__all__ = ["MAX_PIXELS", "VIDEO_SUFFIXES", "ClipInfo", "ffmpeg_reason", "open_container", "probe_clip", "too_long"]
