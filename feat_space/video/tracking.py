"""Following one face through a clip: the same person from frame to frame, its alignment steadied.

The face is chosen on the first frame where faces are found (`face_index`, 0 = the largest there). From
then on it is looked for where it was: its landmarks are computed again on crops framed by its last
position (`refine_face`), which is also cheaper than detecting every face in every frame. Only when it
is not found there are all faces detected, and the one taken is the nearest to its last position and of
a similar size; another person elsewhere in the frame is never taken for it, even if larger. A frame
without it passes through unedited (`None`).

The FFHQ alignment is a function of four points (eye centres, mouth corners); those points go through
a One Euro filter in units of the face's size, so the crop stops trembling on a still face yet follows
a moving one without lag. After `LOST_AFTER` seconds without the face the filter starts afresh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..alignment.align import MIN_FACE_SIZE
from ..alignment.ffhq import ffhq_quad
from ..alignment.landmarks import FaceLandmarks, Photo, find_faces, find_small_faces, refine_face
from .one_euro import OneEuroFilter, Smoothing

LOST_AFTER = 1.0  # s without the face: its track (and the filter's memory) starts again
MAX_JUMP = 0.6  # a face found by detection continues the track if its centre moved < this × its size
MAX_SCALE_CHANGE = 1.5  # ... and its size changed by less than this factor


# The alignment points, in face sizes. MediaPipe's refined landmarks are accurate (0.2-0.7 % of the face
# from the known quad on benchmarks/video.py's clips): a strong filter only adds lag (1.4 % at beta 6),
# so the speed term opens it at once for real motion, camera shake included; it smooths a still face.
POINT_SMOOTHING = Smoothing(min_cutoff=1.0, beta=300.0)


@dataclass(frozen=True)
class TrackedFace:
    quad: np.ndarray  # [4, 2] the (smoothed) FFHQ crop corners in frame pixels
    raw_quad: np.ndarray  # as measured on this frame alone
    track: int  # which track: a new one starts when the face comes back after being lost


class FaceTracker:
    def __init__(self, *, face_index: int = 0, smoothing: Smoothing | None = POINT_SMOOTHING) -> None:
        self.face_index = face_index
        self.smoothing = smoothing
        self._last: FaceLandmarks | None = None
        self._last_time = -np.inf
        self._scale = 1.0
        self._filter: OneEuroFilter[np.ndarray] | None = None
        self._track = 0

    def update(self, rgb: np.ndarray, time: float) -> TrackedFace | None:
        """The tracked face in this frame (`time` in seconds), or None where it is not found."""
        if time - self._last_time > LOST_AFTER:
            self._last = None
        photo = Photo(rgb)
        face = self._follow(photo) if self._last is not None else None
        if face is None:
            face = self._detect(photo)
        if face is None or face.size < MIN_FACE_SIZE:
            return None
        if self._last is None:  # a new track
            self._track += 1
            self._scale = face.size
            if self.smoothing is not None:
                self._filter = self.smoothing.filter()
        self._last, self._last_time = face, time
        points = face.points
        if self._filter is not None:
            points = self._filter(points / self._scale, time) * self._scale
        return TrackedFace(quad=ffhq_quad(*points), raw_quad=face.quad, track=self._track)

    def _follow(self, photo: Photo) -> FaceLandmarks | None:
        assert self._last is not None
        found = refine_face(photo, self._last)
        return None if found is self._last else found  # refine_face hands its input back when it finds nothing

    def _detect(self, photo: Photo) -> FaceLandmarks | None:
        faces = find_faces(photo) or find_small_faces(photo).faces
        if self._last is None:
            return refine_face(photo, faces[self.face_index]) if len(faces) > self.face_index else None
        centre, size = self._last.quad.mean(axis=0), self._last.size
        near = [
            f
            for f in faces
            if np.hypot(*(f.quad.mean(axis=0) - centre)) < MAX_JUMP * size
            and 1 / MAX_SCALE_CHANGE < f.size / size < MAX_SCALE_CHANGE
        ]
        if not near:
            return None
        nearest = min(near, key=lambda f: float(np.hypot(*(f.quad.mean(axis=0) - centre))))
        return refine_face(photo, nearest)


__all__ = ["POINT_SMOOTHING", "FaceTracker", "TrackedFace"]
