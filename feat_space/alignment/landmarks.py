"""Face landmarks with MediaPipe FaceMesh, and the points FFHQ alignment needs from them.

FFHQ's alignment (NVlabs ffhq-dataset) was defined on dlib's 68 landmarks: the centre of each eye is
the mean of its six dlib points (36–41 for the eye on the image's left, 42–47 for the other), and the
mouth corners are dlib points 48 and 54. dlib needs a compiler and a non-commercial model; MediaPipe
FaceMesh ships its models inside the wheel (no download at run time) and gives 478 points.

The mapping (`FFHQ_POINTS`), "left"/"right" meaning the image's, as in FFHQ's code:

- ``eye_left`` = mean of the 16 points of the lid contour of the eye on the image's left (the
  subject's right eye): 33 (outer corner) … 133 (inner corner) along the lower lid and back along the
  upper lid. ``eye_right`` = the same 16 points of the other eye (263 outer … 362 inner).
- ``mouth_left`` = 61, ``mouth_right`` = 291: the outer corners of the lips, as dlib's 48 and 54.

Why the lid contour and not the iris: dlib's six eye points lie on the lids (two corners, two on each
lid), so their mean is the centre of the eye opening, not of the iris. The iris centre (468/473 with
refined landmarks) sits higher — the upper lid covers less of the iris than the lower one leaves
visible below it — and moves with the gaze; measured against dlib-68 FFHQ quads of eight real faces it
gave 1.8 % mean corner error against 1.1 % for the lid contour. The 16-point contour mean agreed
slightly better than the six MediaPipe points that correspond one to one to dlib's (33, 160, 158, 133,
153, 144 and 362, 385, 387, 263, 373, 380; 1.4 %), because averaging more points cancels the mesh's
per-point jitter, and the contour is sampled evenly along both lids, so its mean has no vertical bias.
Mouth corners 61/291 versus the inner corners 78/308 or 76/306 changed the quad by under 0.1 %:
the mouth only enters through ``eye_to_mouth`` (centre shift and, for long faces, the scale).

Coordinates: MediaPipe's normalised landmarks times the image size are pixel-index coordinates (the
centre of the top-left pixel is (0, 0)), checked by comparing landmarks on a photo and on its exact
2×/3×/4× nearest-neighbour enlargements. dlib, FFHQ and this package use the same convention.

Detection: faces are found on a copy whose long side is at most `DETECT_SIZE` by MediaPipe's two face
detectors (full range, for small and distant faces, and short range, for close-ups, also on tiles
for group photos), then each face gets its mesh from a `MESH_CROP`² crop centred on it, cut from the
full-resolution photo or a reduced copy that still has that much detail: a small face in a big photo
is landmarked at full detail, and a big photo costs little more than a small one. The face that is
aligned is landmarked again on a few crops framed by its first quad and the meshes averaged
(`refine_face`).

Small faces: a face whose box is a few pixels across on the detection copy (a 67-px face in a
12-megapixel photo is 17 px there) escapes both detectors. When that first pass finds nothing,
`find_small_faces` runs the full-range detector on `FINE_TILE`-pixel tiles of the full-resolution photo
(about a second for 12 megapixels, paid only by photos where nothing was found), then landmarks what it
finds on upscaled crops. That is what lets a small face be reported as *too small*, with its size,
rather than as "no face". A face found there that the mesh cannot landmark (tiny, blurred) is still
reported with a size estimated from its box (`QUAD_PER_BOX`), if the detector is sure of it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from feat_space.alignment.ffhq import ffhq_quad, quad_size
from feat_space.alignment.native_logs import native_logs

# Landmark indices of MediaPipe FaceMesh (canonical 468-point topology; 468–477 are the irises).
RIGHT_EYE_CONTOUR = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)  # image left
LEFT_EYE_CONTOUR = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)  # image right
MOUTH_LEFT = 61  # image left: subject's right mouth corner, dlib 48
MOUTH_RIGHT = 291  # image right, dlib 54

FFHQ_POINTS: dict[str, tuple[int, ...]] = {
    "eye_left": RIGHT_EYE_CONTOUR,
    "eye_right": LEFT_EYE_CONTOUR,
    "mouth_left": (MOUTH_LEFT,),
    "mouth_right": (MOUTH_RIGHT,),
}

DETECT_SIZE = 1024  # long side of the copy that faces are detected on
MESH_CROP = 384  # side of the square crop each face's mesh is computed on (face ≈ half of it)
_SHORT_RANGE_INPUT = 128  # the short-range detector's input side
_TILE = 0.43  # tile side / long side of the detection copy: three tiles across, overlapping
_CROP_PER_BOX = 2.0  # crop side / detected box side: the mesh's own detector needs context around the face
FINE_TILE = 384  # side, in photo pixels, of the tiles the second pass detects on (at least)
FINE_TILES_ACROSS = 12  # ... and at most about this many tiles along the long side (cost: ~150 tiles)
QUAD_PER_BOX = 1.6  # FFHQ crop side / full-range detector box side, measured on the test photos at 40–200 px
_SURE_DETECTION_SCORE = 0.75  # a box with no mesh counts as a face only above this score
REFINE_CROPS = (1.0, 1.15, 1.3)  # crop sides / FFHQ quad side for `refine_face` (2.0 boxes ≈ 1.15 quads)
_MIN_DETECTION_SCORE = 0.5


@dataclass(frozen=True, eq=False)  # holds arrays: compare fields, not objects
class FaceLandmarks:
    """One face: its 478 MediaPipe landmarks and what FFHQ alignment derives from them (source pixels)."""

    landmarks: np.ndarray  # [478, 2] float64, x right, y down
    points: np.ndarray  # [4, 2]: eye_left, eye_right, mouth_left, mouth_right (see FFHQ_POINTS)
    quad: np.ndarray  # [4, 2] FFHQ crop corners: top-left, bottom-left, bottom-right, top-right

    @property
    def size(self) -> float:
        """Side of the FFHQ crop in source pixels: how big the face is for editing."""
        return quad_size(self.quad)

    @property
    def eye_distance(self) -> float:
        return float(np.hypot(*(self.points[1] - self.points[0])))


def ffhq_points(landmarks: np.ndarray) -> np.ndarray:
    """The four points FFHQ alignment uses, [4, 2], from 468 or 478 MediaPipe landmarks."""
    return np.stack([landmarks[list(indices)].mean(axis=0) for indices in FFHQ_POINTS.values()])


def face_from_landmarks(landmarks: np.ndarray) -> FaceLandmarks:
    landmarks = np.asarray(landmarks, dtype=np.float64)
    points = ffhq_points(landmarks)
    return FaceLandmarks(landmarks=landmarks, points=points, quad=ffhq_quad(*points))


class MediaPipeGraphs:
    """The three MediaPipe graphs, built once; MediaPipe solutions are not thread-safe, so calls are locked."""

    def __init__(self) -> None:
        try:
            from mediapipe.python.solutions import face_detection, face_mesh
        except ImportError as err:  # pragma: no cover - an installation problem, not a user's
            raise ImportError(
                "Face alignment needs mediapipe==0.10.21 (newer versions ship no FaceMesh model): "
                "pip install mediapipe==0.10.21"
            ) from err
        self.detectors = [
            face_detection.FaceDetection(model_selection=selection, min_detection_confidence=_MIN_DETECTION_SCORE)
            for selection in (1, 0)  # full range first: it also finds the small faces in group photos
        ]
        self.mesh = face_mesh.FaceMesh(
            static_image_mode=True,
            max_num_faces=2,  # the crop may show a neighbour's face too; the centred one is kept
            refine_landmarks=True,  # the attention model refines lid and lip contours
            min_detection_confidence=_MIN_DETECTION_SCORE,
        )


_models: MediaPipeGraphs | None = None
_lock = threading.Lock()


def mediapipe_graphs() -> MediaPipeGraphs:
    """The process's MediaPipe graphs, built on first use."""
    global _models
    if _models is None:
        _models = MediaPipeGraphs()
    return _models


@contextlib.contextmanager
def _graphs() -> Iterator[MediaPipeGraphs]:
    """The graphs, for one caller at a time, with their C++ logs shown or caught (`native_logs`)."""
    with _lock, native_logs():
        yield mediapipe_graphs()


class Photo:
    """An RGB uint8 photo with the reduced copies that detection and landmarking read.

    Levels: the photo, halvings while the next one is still at least `DETECT_SIZE` across, and the
    detection copy (long side `DETECT_SIZE`). A face's crop is cut from the smallest level on which
    it is still `MESH_CROP` pixels across, so a 12-megapixel photo costs little more than a small one.
    """

    def __init__(self, rgb: np.ndarray) -> None:
        self.rgb = rgb
        height, width = rgb.shape[:2]
        self.levels: list[tuple[np.ndarray, float, float]] = [(rgb, 1.0, 1.0)]  # (pixels, x scale, y scale)
        pixels = rgb
        while max(pixels.shape[:2]) > DETECT_SIZE:
            h, w = pixels.shape[:2]
            scale = max(0.5, DETECT_SIZE / max(h, w))
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
            self.levels.append((pixels, size[0] / width, size[1] / height))
        self.small = pixels

    def crop(self, centre: np.ndarray, side: float) -> tuple[np.ndarray, np.ndarray]:
        """A `MESH_CROP`² crop of the square ``side`` px around ``centre`` (source pixels), and the 2×3
        affine map from the crop's pixel indices to the source's. Outside the photo is black, as
        MediaPipe fills its own crops."""
        pixels, sx, sy = next(
            (level for level in reversed(self.levels) if side * min(level[1], level[2]) >= MESH_CROP), self.levels[0]
        )
        height, width = pixels.shape[:2]
        centre_l = (np.asarray(centre, np.float64) + 0.5) * (sx, sy) - 0.5
        side_l = int(np.ceil(max(side * sx, 16.0)))
        x0, y0 = (int(np.floor(v - side_l / 2)) for v in centre_l)
        cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x0 + side_l, width), min(y0 + side_l, height)
        if cx1 <= cx0 or cy1 <= cy0:
            return np.zeros((MESH_CROP, MESH_CROP, 3), np.uint8), np.zeros((2, 3))
        crop = cv2.copyMakeBorder(
            pixels[cy0:cy1, cx0:cx1], cy0 - y0, y0 + side_l - cy1, cx0 - x0, x0 + side_l - cx1, cv2.BORDER_CONSTANT
        )
        interpolation = cv2.INTER_AREA if side_l > MESH_CROP else cv2.INTER_LINEAR
        crop = cv2.resize(crop, (MESH_CROP, MESH_CROP), interpolation=interpolation)
        # crop index → level index (resizing maps pixel edges to edges) → source index.
        step = side_l / MESH_CROP
        crop_to_level = np.array([[step, 0.0, 0.5 * step - 0.5 + x0], [0.0, step, 0.5 * step - 0.5 + y0]])
        level_to_source = np.array([[1 / sx, 0.0, 0.5 / sx - 0.5], [0.0, 1 / sy, 0.5 / sy - 0.5]])
        return crop, (np.vstack([level_to_source, [0, 0, 1]]) @ np.vstack([crop_to_level, [0, 0, 1]]))[:2]


def find_faces(photo: np.ndarray | Photo, *, max_faces: int = 8) -> list[FaceLandmarks]:
    """All faces in an RGB uint8 photo, largest FFHQ crop first (at most ``max_faces``).

    Each face is landmarked once, which is enough to count, size and order them; `refine_face`
    makes the landmarks of the face that is aligned steadier.
    """
    photo = photo if isinstance(photo, Photo) else Photo(photo)
    height, width = photo.rgb.shape[:2]
    with _graphs() as models:
        boxes = _detect(models, photo.small, width, height)
        faces = []
        for box in boxes[: 2 * max_faces]:
            side = _CROP_PER_BOX * max(box[2] - box[0], box[3] - box[1])
            landmarks = _mesh_in_crop(models, photo, (box[:2] + box[2:]) / 2, side)
            if landmarks is not None:
                faces.append(face_from_landmarks(landmarks))
    return _distinct(faces)[:max_faces]


@dataclass(frozen=True)
class SmallFaces:
    """What the second pass found: faces it could landmark, and the estimated FFHQ crop sides (photo
    pixels) of faces the detector is sure of but the mesh could not landmark."""

    faces: list[FaceLandmarks]
    unlandmarked_sizes: list[float]


def find_small_faces(photo: np.ndarray | Photo, *, max_faces: int = 8) -> SmallFaces:
    """The second pass, for photos where `find_faces` found nothing (see the module doc)."""
    photo = photo if isinstance(photo, Photo) else Photo(photo)
    rgb = photo.rgb
    height, width = rgb.shape[:2]
    side = max(FINE_TILE, int(np.ceil(max(height, width) / FINE_TILES_ACROSS)))
    if side >= max(height, width):
        return SmallFaces([], [])  # the whole photo was one tile already
    side = min(side, height, width)
    candidates: list[tuple[float, np.ndarray]] = []
    with _graphs() as models:
        for ty in _tile_starts(height, side):
            for tx in _tile_starts(width, side):
                tile = np.ascontiguousarray(rgb[ty : ty + side, tx : tx + side])
                for score, box in _boxes(models.detectors[0], tile):
                    candidates.append((score, box * side + (tx, ty, tx, ty)))
        candidates.sort(key=lambda item: -item[0])
        kept: list[tuple[float, np.ndarray]] = []
        for score, box in candidates:
            if all(_iou(box, other) < 0.3 and not _contains(other, (box[:2] + box[2:]) / 2) for _, other in kept):
                kept.append((score, box))
        faces, unlandmarked = [], []
        for score, box in kept[: 2 * max_faces]:
            box_side = max(box[2] - box[0], box[3] - box[1])
            landmarks = _mesh_in_crop(models, photo, (box[:2] + box[2:]) / 2, _CROP_PER_BOX * box_side)
            if landmarks is not None:
                faces.append(face_from_landmarks(landmarks))
            elif score >= _SURE_DETECTION_SCORE:
                unlandmarked.append(QUAD_PER_BOX * box_side)
    return SmallFaces(_distinct(faces)[:max_faces], sorted(unlandmarked, reverse=True))


def _detect(models: MediaPipeGraphs, small: np.ndarray, width: int, height: int) -> list[np.ndarray]:
    """Face boxes [x0, y0, x1, y1] in source pixels, each face once, best first.

    Whole-image detections come first (full range, then short range); then the short-range detector
    on overlapping tiles finds the faces that are too small for either on the whole image (group
    photos). A box overlapping one already kept, or centred inside a larger one (a tile that saw part
    of a big face), is dropped.
    """
    to_source = np.array([width, height, width, height], dtype=np.float64)
    candidates: list[tuple[int, float, np.ndarray]] = []
    for detector in models.detectors:
        candidates += [(0, score, box * to_source) for score, box in _boxes(detector, small)]
    small_h, small_w = small.shape[:2]
    side = min(small_h, small_w, round(_TILE * max(small_h, small_w)))
    # Tiles smaller than the detector's input would only be enlarged: no new detail, only false faces.
    tiles_y = _tile_starts(small_h, side) if side >= _SHORT_RANGE_INPUT else []
    for ty in tiles_y:
        for tx in _tile_starts(small_w, side):
            tile = np.ascontiguousarray(small[ty : ty + side, tx : tx + side])
            offset = np.array([tx, ty, tx, ty]) / (small_w, small_h, small_w, small_h)
            span = np.array([side / small_w, side / small_h] * 2)
            for score, box in _boxes(models.detectors[1], tile):
                candidates.append((1, score, (offset + box * span) * to_source))
    candidates.sort(key=lambda item: (item[0], -item[1]))
    kept: list[np.ndarray] = []
    for _, _, box in candidates:
        centre = (box[:2] + box[2:]) / 2
        if all(_iou(box, other) < 0.3 and not _contains(other, centre) for other in kept):
            kept.append(box)
    return kept


def _boxes(detector: object, rgb: np.ndarray) -> list[tuple[float, np.ndarray]]:
    """(score, [x0, y0, x1, y1] as fractions of the image) for each detection."""
    found = []
    for detection in detector.process(rgb).detections or []:  # type: ignore[attr-defined]
        box = detection.location_data.relative_bounding_box
        xyxy = np.array([box.xmin, box.ymin, box.xmin + box.width, box.ymin + box.height], dtype=np.float64)
        found.append((float(detection.score[0]), xyxy))
    return found


def _tile_starts(length: int, side: int) -> list[int]:
    """Starts of tiles of ``side`` covering ``length`` with at least a quarter of a tile overlap."""
    if side >= length:
        return [0]
    count = int(np.ceil((length - side) / (0.75 * side))) + 1
    return [round(start) for start in np.linspace(0, length - side, count)]


def _contains(box: np.ndarray, point: np.ndarray) -> bool:
    return bool(box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3])


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _mesh_in_crop(models: MediaPipeGraphs, photo: Photo, centre: np.ndarray, side: float) -> np.ndarray | None:
    """The mesh of the face at ``centre`` (source pixels), computed on a ``side``-pixel square crop;
    None if there is none."""
    crop, crop_to_source = photo.crop(centre, side)
    result = models.mesh.process(crop)
    if not result.multi_face_landmarks:
        return None
    meshes = [np.array([(p.x, p.y) for p in face.landmark], dtype=np.float64) for face in result.multi_face_landmarks]
    centred = min(meshes, key=lambda mesh: float(np.hypot(*(mesh.mean(axis=0) - 0.5))))
    if np.hypot(*(centred.mean(axis=0) - 0.5)) > 0.25:
        return None  # the mesh found a neighbour, not the face asked for
    return (centred * MESH_CROP) @ crop_to_source[:, :2].T + crop_to_source[:, 2]


def refine_face(photo: np.ndarray | Photo, face: FaceLandmarks) -> FaceLandmarks:
    """``face`` landmarked again on `REFINE_CROPS` crops framed by its FFHQ quad, the meshes averaged.

    MediaPipe's landmarks move with the crop they are computed on (on our test photos the quad changes
    by 0.5 % of its side, standard deviation, over random crops); the mean over a few crops removes most
    of that, and its error is at most the average error of single crops.
    """
    photo = photo if isinstance(photo, Photo) else Photo(photo)
    centre, size = face.quad.mean(axis=0), face.size
    with _graphs() as models:
        meshes = [_mesh_in_crop(models, photo, centre, scale * size) for scale in REFINE_CROPS]
    found = [mesh for mesh in meshes if mesh is not None]
    return face_from_landmarks(np.mean(found, axis=0)) if found else face


def _distinct(faces: list[FaceLandmarks]) -> list[FaceLandmarks]:
    """Largest first; a face found twice (both detectors, neighbouring boxes) is kept once."""
    kept: list[FaceLandmarks] = []
    for face in sorted(faces, key=lambda f: -f.size):
        centre = face.quad.mean(axis=0)
        if all(np.hypot(*(centre - other.quad.mean(axis=0))) > 0.2 * other.size for other in kept):
            kept.append(face)
    return kept
