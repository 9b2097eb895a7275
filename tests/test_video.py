"""Editing a face through a clip (`feat_space.video`, `feat-space edit clip.mp4`) in the tiny profile:
the clip's size, frame times and sound kept; frames without the face passed through and counted; bad
clips refused with a clear message and nothing left on disk. Clips are made here, a few small frames."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from clips import motion, moving_frames, photo, read_clip, set_rotation, write_clip

from feat_space.cli import main
from feat_space.errors import FeatError, NoFaceError, VideoReadError, VideoTooLargeError, VideoTooLongError
from feat_space.registry.demo import demo_edit
from feat_space.registry.registry import load_registry
from feat_space.session import Session
from feat_space.video import OneEuroFilter, edit_video, probe_clip
from feat_space.video import clip_edit as edit_video_module
from feat_space.video.decoding import ClipReader
from feat_space.video.tracking import FaceTracker

FAST_EDIT = "purple-hair"  # blends the final RGB: the cheapest edit on a CPU
SIZE = (448, 384)  # frames: the test photo's face is above the smallest face edited (128 px)


@pytest.fixture(autouse=True)
def tiny(monkeypatch):
    monkeypatch.setenv("FEAT_PROFILE", "tiny")


@pytest.fixture(scope="module")
def session() -> Session:
    return Session("tiny", device="cpu")


@pytest.fixture(scope="module")
def edit(session):
    return demo_edit(load_registry()[FAST_EDIT], session.generator)


def face_frames(count: int, jitter: float = 1.0) -> list[np.ndarray]:
    image = photo(side=512)
    return moving_frames(image, motion(count, SIZE, (image.shape[1], image.shape[0]), jitter=jitter), SIZE)


def blank(count: int) -> list[np.ndarray]:
    return [np.full((SIZE[1], SIZE[0], 3), 90 + 20 * i, np.uint8) for i in range(count)]


def nothing_left(folder: Path) -> bool:
    return not folder.exists() or not any(folder.iterdir())


# -- the filter ---------------------------------------------------------------------------------------


def test_one_euro_steadies_a_still_signal_and_follows_a_moving_one():
    rng = np.random.default_rng(0)
    times = np.arange(120) / 30
    still = 5 + rng.normal(0, 0.05, times.size)
    smooth = OneEuroFilter(min_cutoff=1.0, beta=5.0)
    steadied = np.array([smooth(x, t) for x, t in zip(still, times, strict=True)])
    assert np.std(np.diff(steadied[30:])) < 0.4 * np.std(np.diff(still[30:])), "jitter removed"

    ramp = 2.0 * times  # a face moving steadily: the filter must not trail it
    lagging, following = OneEuroFilter(min_cutoff=1.0, beta=0.0), OneEuroFilter(min_cutoff=1.0, beta=5.0)
    lag = [abs(lagging(x, t) - x) for x, t in zip(ramp, times, strict=True)][-1]
    follow = [abs(following(x, t) - x) for x, t in zip(ramp, times, strict=True)][-1]
    assert follow < 0.25 * lag, (follow, lag)


# -- the whole edit -----------------------------------------------------------------------------------


def test_the_edit_command_edits_a_clip_keeping_its_size_timing_and_sound(tmp_path, capsys):
    # Variable frame rate (timestamps 0, 0.1, 0.3, 0.6 s), sound, and a last frame without the face.
    pts = [0, 1, 3, 6]
    clip = write_clip(tmp_path / "clip.mp4", face_frames(3) + blank(1), rate=10, pts=pts, audio="aac")
    out = tmp_path / "out"

    code = main(["edit", str(clip), "--edit", f"{FAST_EDIT}=1.5", "--out", str(out)])

    printed = capsys.readouterr()
    assert code == 0, printed.err
    result = out / "clip-edited.mp4"
    assert sorted(p.name for p in out.iterdir()) == [result.name], "one file, no partial leftovers"
    frames, times = read_clip(result)
    original, original_times = read_clip(clip)
    assert original_times == pytest.approx([0.0, 0.1, 0.3, 0.6])
    assert times == pytest.approx(original_times), "same frame times"
    assert frames[0].shape == (SIZE[1], SIZE[0], 3), "same size"
    with av.open(str(result)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio and container.streams.audio[0].codec_context.name == "aac", "sound kept"
    changed = [np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(frames, original, strict=True)]
    assert min(changed[:3]) > 1.0, f"the face frames are edited: {changed}"
    assert changed[3] < 1.5 and changed[3] < min(changed[:3]) / 3, f"the frame without a face passes through: {changed}"
    corner = (slice(0, 40), slice(0, 40))  # far from the face: the input's own pixels
    assert np.abs(frames[1][corner].astype(int) - original[1][corner]).mean() < 3.0  # re-encoding alone
    assert "4/4" in printed.err and "frame" in printed.err, "a progress bar in frames"
    assert "Edited the face in 3 of 4 frames" in printed.err
    assert "1 frame(s) without the face passed through unchanged" in printed.err
    assert "Edited 1 of 1 clip(s)" in printed.out


def test_the_pipeline_streams_holding_one_batch_of_frames(tmp_path, session, edit, monkeypatch):
    """Memory flat with the clip's length: a frame is never decoded more than a batch ahead of the writer."""
    clip = write_clip(tmp_path / "clip.mp4", face_frames(7, jitter=0.5), rate=10)
    read, ahead = [], []
    frames = ClipReader.frames

    def counting(self, on_audio=None):
        for frame in frames(self, on_audio):
            read.append(frame.index)
            yield frame

    write = edit_video_module.ClipWriter.write

    def writing(self, rgb, pts):
        ahead.append(len(read) - (len(ahead) + 1))
        write(self, rgb, pts)

    monkeypatch.setattr(ClipReader, "frames", counting)
    monkeypatch.setattr(edit_video_module.ClipWriter, "write", writing)
    result = edit_video(session, clip, [(edit, 1.0)], tmp_path / "out.mp4", batch_size=2)
    assert result.frames == result.edited == 7
    assert max(ahead) <= 2, f"frames held beyond the batch: {ahead}"


# -- bad input ----------------------------------------------------------------------------------------


def audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        sound = out.add_stream("aac", rate=48000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="flt", layout="mono")
        frame.sample_rate, frame.pts = 48000, 0
        for packet in [*sound.encode(frame), *sound.encode()]:
            out.mux(packet)
    return path


def truncated(path: Path) -> Path:
    write_clip(path, face_frames(2), rate=10)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


BAD_CLIPS = {
    "not a video": (lambda p: (p.write_text("just some text"), p)[1], VideoReadError, "not a video file"),
    "truncated": (truncated, VideoReadError, "truncated or corrupt"),
    "audio only": (audio_only, VideoReadError, "only sound"),
    "huge": (lambda p: write_clip(p, [np.zeros((2304, 4096, 3), np.uint8)]), VideoTooLargeError, "4096×2304"),
    "too long": (lambda p: write_clip(p, blank(12), rate=10), VideoTooLongError, "up to 1 s"),
    "no face": (lambda p: write_clip(p, blank(3), rate=10), NoFaceError, "No face was found in any of the 3 frames"),
}


@pytest.mark.parametrize("kind", list(BAD_CLIPS))
def test_a_bad_clip_gets_a_clear_message_and_leaves_nothing(kind, tmp_path, session, edit):
    make, error, words = BAD_CLIPS[kind]
    clip = make(tmp_path / "clip.mp4")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(error, match=words) as caught:
        edit_video(session, clip, [(edit, 1.0)], out / "edited.mp4", max_seconds=1.0)
    assert isinstance(caught.value, FeatError)
    assert nothing_left(out), list(out.iterdir())


def test_the_command_reports_a_bad_clip_and_creates_nothing(tmp_path, capsys):
    clip = tmp_path / "broken.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42 and then nothing")
    out = tmp_path / "out"
    assert main(["edit", str(clip), "--edit", FAST_EDIT, "--out", str(out)]) == 1
    printed = capsys.readouterr()
    assert "skipped" in printed.err and "broken.mp4" in printed.err and "not a video file" in printed.err
    assert "1 unreadable clips" in printed.out
    assert not out.exists(), "no output folder for nothing"


def test_rotation_metadata_gives_upright_frames_the_face_is_found_in(tmp_path):
    upright = face_frames(1)[0][:, 32:416]  # 384 × 384 … made portrait below
    upright = np.ascontiguousarray(np.vstack([upright, upright[:64]]))  # 448 high, 384 wide
    stored = np.ascontiguousarray(np.rot90(upright, 1))  # as a phone stores it: turned, with a matrix
    clip = set_rotation(write_clip(tmp_path / "phone.mp4", [stored, stored], rate=10), 90)

    info = probe_clip(clip)
    assert (info.width, info.height) == (384, 448), "the size as it plays"
    with ClipReader(clip, info) as reader:
        frame = next(iter(reader.frames()))
    assert frame.rgb.shape == upright.shape
    assert np.abs(frame.rgb.astype(int) - upright).mean() < 4, "turned upright (up to the codec)"
    assert FaceTracker().update(frame.rgb, 0.0) is not None, "so the face is found"


def test_the_length_limit_is_checked_while_decoding_too(tmp_path):
    """A header can claim less than the file holds: frames past the limit stop the edit."""
    clip = write_clip(tmp_path / "clip.mp4", blank(12), rate=10)
    info = probe_clip(clip)
    lying = type(info)(**{**info.__dict__, "duration": 0.5})
    with ClipReader(clip, lying, max_seconds=0.5) as reader, pytest.raises(VideoTooLongError):
        list(reader.frames())


def test_probe_reads_rate_and_sound(tmp_path):
    info = probe_clip(write_clip(tmp_path / "c.mp4", blank(5), rate=25, audio="aac"))
    assert info.rate == Fraction(25) and info.audio == "aac" and info.frames == 5


def test_no_smoothing_and_the_length_limit_reach_the_pipeline(tmp_path, monkeypatch, capsys):
    import feat_space.video as video

    asked = {}

    def fake_edit_video(session, clip, edits, out, **options):
        asked.update(options)
        raise VideoTooLongError("too long for the test")

    monkeypatch.setattr(video, "edit_video", fake_edit_video)
    clip = write_clip(tmp_path / "c.mp4", blank(2), rate=10)
    code = main(
        ["edit", str(clip), "--edit", FAST_EDIT, "--no-smoothing", "--max-seconds", "3", "--out", str(tmp_path)]
    )
    assert code == 1 and "1 clips too long" in capsys.readouterr().out
    assert asked["steadiness"] == video.Steadiness.off() and asked["max_seconds"] == 3.0


def test_the_tracked_face_is_the_same_person_not_the_largest():
    from feat_space.alignment import detect_faces

    frame = np.full((460, 900, 3), 40, np.uint8)
    frame[:, :460] = photo("astronaut.png", side=460)[:460]
    hopper = photo("grace_hopper.jpg", side=380)
    frame[: hopper.shape[0], 500:880] = hopper[:460]
    smaller = detect_faces(frame)[1].quad[:, 0].mean()  # x of face 1: the smaller of the two
    on_its_side = (lambda x: x > 480) if smaller > 480 else (lambda x: x < 480)
    covered = frame.copy()
    if smaller > 480:
        covered[:, 480:] = 40  # the followed face is gone for a frame; the larger one is still there
    else:
        covered[:, :480] = 40

    tracker = FaceTracker(face_index=1)
    first = tracker.update(frame, 0.0)
    assert first is not None and on_its_side(first.quad[:, 0].mean())
    assert tracker.update(covered, 0.1) is None, "not replaced by the larger face while it is gone"
    again = tracker.update(frame, 0.2)
    assert again is not None and on_its_side(again.quad[:, 0].mean()), "found again where it was"
    assert again.track == first.track, "within a second: the same track"
