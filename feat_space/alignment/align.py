"""`align_face`: a photo in, the FFHQ-aligned crop of one of its faces out (with what is needed to go back)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from feat_space.alignment.ffhq import align_crop, quad_size
from feat_space.alignment.landmarks import FaceLandmarks, Photo, find_faces, find_small_faces, refine_face
from feat_space.alignment.paste_back import paste_back
from feat_space.errors import FaceIndexError, FaceTooSmallError, NoFaceError
from feat_space.image_input import ImageSource, load_image

MIN_FACE_SIZE = 128  # source pixels across the FFHQ crop (eyes ≈ 32 px apart): below, landmarks and edits blur
MAX_FACES = 8
ENCODER_SIZE = 256  # e4e's input
_CLOSER = "Use a photo taken closer or at a higher resolution."


@dataclass(frozen=True, eq=False)  # holds arrays: compare fields, not objects
class AlignedFace:
    """One face of a photo, FFHQ-aligned.

    ``quad`` and ``landmarks`` are in pixel indices of ``photo``, the upright (EXIF-oriented) RGB
    photo at full resolution: x right, y down, the top-left pixel's centre at (0, 0).
    """

    image: Image.Image  # size² RGB crop
    quad: np.ndarray  # [4, 2] float64: top-left, bottom-left, bottom-right, top-right, as FFHQ
    landmarks: np.ndarray  # [478, 2] float64 MediaPipe FaceMesh landmarks
    points: np.ndarray  # [4, 2] FFHQ's eye_left, eye_right, mouth_left, mouth_right (see landmarks.FFHQ_POINTS)
    photo: Image.Image  # the upright photo the coordinates refer to
    index: int  # which face, 0 = largest
    num_faces: int  # faces found in the photo

    @property
    def size(self) -> float:
        """Side of the crop in source pixels: how big the face is in the photo."""
        return quad_size(self.quad)

    def encoder_input(self, size: int = ENCODER_SIZE) -> Image.Image:
        """The crop at the encoder's 256² (area-averaged from ``image``: about a millisecond)."""
        if self.image.size == (size, size):
            return self.image
        pixels = cv2.resize(np.asarray(self.image), (size, size), interpolation=cv2.INTER_AREA)
        return Image.fromarray(pixels, "RGB")

    def paste_back(self, edited: ImageSource, *, mask: np.ndarray | Image.Image | None = None) -> Image.Image:
        """``photo`` with ``edited`` (a square crop aligned like ``image``) pasted back; see `paste_back`."""
        return paste_back(self.photo, edited, self.quad, mask=mask)


def detect_faces(image: ImageSource, *, max_faces: int = MAX_FACES) -> list[FaceLandmarks]:
    """Every face found (at most ``max_faces``), largest FFHQ crop first; coordinates in the upright photo.

    Landmarks here come from one crop per face; `align_face` refines the face it aligns, so its quad
    may differ from the one here by a fraction of a percent. Like `align_face`, a photo where the first
    pass finds nothing is searched again on tiles of the full-size photo (small faces in large photos).
    """
    pyramid = Photo(np.asarray(load_image(image)))
    return find_faces(pyramid, max_faces=max_faces) or find_small_faces(pyramid, max_faces=max_faces).faces


def align_face(
    image: ImageSource,
    *,
    face_index: int = 0,
    size: int = 1024,
    min_face_size: float = MIN_FACE_SIZE,
    max_faces: int = MAX_FACES,
) -> AlignedFace:
    """FFHQ-align one face of a photo.

    ``image``: anything `feat_space.image_input.load_image` reads (path, bytes, file, PIL, ndarray).
    ``face_index``: which face, counting from the largest (0) down. ``size``: the crop's side (1024
    for the generator; 256 gives the encoder's input directly). ``min_face_size``: the smallest crop
    side, in photo pixels, accepted.

    Raises `NoFaceError`, `FaceIndexError`, `FaceTooSmallError` and `load_image`'s `ImageReadError`,
    all `FeatError`s with a message for the person who uploaded the photo.
    """
    photo = load_image(image)
    rgb = np.asarray(photo)
    pyramid = Photo(rgb)
    faces = find_faces(pyramid, max_faces=max(max_faces, face_index + 1))
    if not faces:  # a face too small for the first pass is looked for on tiles of the full-size photo
        small = find_small_faces(pyramid, max_faces=max(max_faces, face_index + 1))
        faces = small.faces
        sizes = [size for size in small.unlandmarked_sizes if size < min_face_size]
        if not faces and sizes:  # the detector is sure of a face the mesh cannot landmark: it is tiny
            raise FaceTooSmallError(
                f"The face is too small to edit: it spans about {sizes[0]:.0f} px in the photo; at least "
                f"{min_face_size:.0f} px are needed. {_CLOSER}"
            )
    if not faces:
        raise NoFaceError(
            "No face was found in the photo. Use a photo where the face is clearly visible, upright and not covered."
        )
    if not 0 <= face_index < len(faces):
        found = "1 face was" if len(faces) == 1 else f"{len(faces)} faces were"
        raise FaceIndexError(
            f"Face {face_index} was asked for, but {found} found (numbered 0–{len(faces) - 1}, largest first)."
        )
    face = refine_face(pyramid, faces[face_index])
    if face.size < min_face_size:
        raise FaceTooSmallError(
            f"The face is too small to edit: it spans {face.size:.0f} px in the photo (eyes {face.eye_distance:.0f} px "
            f"apart); at least {min_face_size:.0f} px are needed. {_CLOSER}"
        )
    crop = align_crop(rgb, face.quad, size)
    return AlignedFace(
        image=Image.fromarray(crop, "RGB"),
        quad=face.quad,
        landmarks=face.landmarks,
        points=face.points,
        photo=photo,
        index=face_index,
        num_faces=len(faces),
    )
