"""FFHQ alignment with MediaPipe, and paste-back into the original photo."""

from __future__ import annotations

import io
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from feat_space.alignment import (
    FFHQ_POINTS,
    MIN_FACE_SIZE,
    align_crop,
    align_face,
    detect_faces,
    face_mask,
    ffhq_quad,
    paste_back,
    square_to_quad,
)
from feat_space.alignment import landmarks as landmarks_module
from feat_space.alignment.landmarks import DETECT_SIZE, MESH_CROP, Photo
from feat_space.errors import FaceIndexError, FaceTooSmallError, FeatError, ImageReadError, NoFaceError

DATA = Path(__file__).parent / "data"
ASTRONAUT = DATA / "astronaut.png"  # scikit-image's sample, public domain (NASA)
GRACE = DATA / "grace_hopper.jpg"  # matplotlib's sample, public domain (US Navy)

# FFHQ's four points as dlib-68 gives them (eye centres = mean of points 36–41 / 42–47, mouth corners =
# points 48 / 54): the landmarks FFHQ was defined with. Computed once with dlib 20.0.1 and its
# shape_predictor_68_face_landmarks model (dlib is not a dependency) and checked by eye on the photos.
REFERENCE_POINTS = {
    ASTRONAUT: [[203.17, 101.5], [246.5, 104.17], [201.0, 139.0], [246.0, 141.0]],
    GRACE: [[223.67, 192.33], [305.33, 189.17], [233.0, 281.0], [300.0, 277.0]],
}


def quad_error(quad: np.ndarray, reference: np.ndarray) -> float:
    """Mean distance between corresponding corners, as a fraction of the reference quad's side."""
    return float(np.hypot(*(quad - reference).T).mean() / np.hypot(*(reference[3] - reference[0])))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / max(mse, 1e-12)))


def crop_to_source(quad: np.ndarray, u: np.ndarray, v: np.ndarray, size: int = 1024) -> np.ndarray:
    m = square_to_quad(quad, size)
    return np.stack([m[0, 0] * u + m[0, 1] * v + m[0, 2], m[1, 0] * u + m[1, 1] * v + m[1, 2]], axis=-1)


def source_to_crop(quad: np.ndarray, points: np.ndarray, size: int = 1024) -> np.ndarray:
    m = np.vstack([square_to_quad(quad, size), [0, 0, 1]])
    inverse = np.linalg.inv(m)
    return points @ inverse[:2, :2].T + inverse[:2, 2]


@pytest.fixture(scope="module")
def astronaut():
    return align_face(ASTRONAUT)


@pytest.fixture(scope="module")
def grace():
    return align_face(GRACE)


# --- the FFHQ definition ---------------------------------------------------------------------------


def test_ffhq_quad_of_an_upright_face():
    # Eyes 20 px apart, mouth 20 px below them: x = max(2·20, 1.8·20) = 40, centre = eye middle + 0.1·20 down.
    quad = ffhq_quad([40, 50], [60, 50], [42, 70], [58, 70])
    assert quad.tolist() == [[10, 12], [10, 92], [90, 92], [90, 12]]  # top-left, bottom-left, bottom-right, top-right


def test_mapping_is_documented_lid_contours_and_mouth_corners():
    assert list(FFHQ_POINTS) == ["eye_left", "eye_right", "mouth_left", "mouth_right"]
    assert len(FFHQ_POINTS["eye_left"]) == len(FFHQ_POINTS["eye_right"]) == 16
    assert {33, 133} <= set(FFHQ_POINTS["eye_left"]) and {263, 362} <= set(FFHQ_POINTS["eye_right"])
    assert FFHQ_POINTS["mouth_left"] == (61,) and FFHQ_POINTS["mouth_right"] == (291,)


@pytest.mark.parametrize("photo", [ASTRONAUT, GRACE], ids=["astronaut", "grace_hopper"])
def test_quad_matches_ffhq_quad_of_dlib_landmarks(photo, astronaut, grace):
    face = astronaut if photo == ASTRONAUT else grace
    reference = ffhq_quad(*np.array(REFERENCE_POINTS[photo]))
    assert quad_error(face.quad, reference) < 0.03
    assert face.quad.shape == (4, 2) and face.landmarks.shape == (478, 2) and face.points.shape == (4, 2)
    assert face.index == 0 and face.num_faces == 1


def test_aligned_crop_is_an_ffhq_crop(grace):
    """Landmarking the 1024² crop itself finds the face where FFHQ puts it: its quad is the whole crop."""
    image = grace.image
    assert image.size == (1024, 1024) and image.mode == "RGB"
    again = detect_faces(image)
    assert len(again) == 1
    whole = np.array([[0, 0], [0, 1024], [1024, 1024], [1024, 0]], float) - 0.5
    assert quad_error(again[0].quad, whole) < 0.03
    # FFHQ levels the average of the eye line and the face's axis, so the eyes are level to a few pixels.
    eyes = source_to_crop(grace.quad, grace.points[:2])
    assert abs(eyes[0, 1] - eyes[1, 1]) < 10 and abs(eyes.mean(axis=0)[0] - 511.5) < 20
    assert 400 < eyes.mean(axis=0)[1] < 500  # eyes a little above the centre, as in FFHQ


def test_crop_matches_pillow_quad_transform_as_ffhq_uses_it(astronaut):
    # FFHQ: img.transform(size, QUAD, (quad + 0.5).flatten(), ...). The face is smaller than 1024 here,
    # so no reduction happens and the two differ only in the bicubic kernel.
    photo = Image.open(ASTRONAUT).convert("RGB")
    reference = photo.transform((1024, 1024), Image.Transform.QUAD, (astronaut.quad + 0.5).flatten(), Image.BICUBIC)
    assert psnr(np.asarray(astronaut.image), np.asarray(reference)) > 35


def test_reduction_of_a_large_face_matches_ffhq_supersampling():
    """A face larger than the crop: area reduction + one transform ≈ FFHQ's transform to 4096² + Lanczos."""
    photo = Image.open(ASTRONAUT).convert("RGB")
    big = photo.resize((2048, 2048), Image.BICUBIC)  # the face's quad is ~690 px: crop to 512 to reduce it
    quad = ffhq_quad(*(np.array(REFERENCE_POINTS[ASTRONAUT]) + 0.5) * 4 - 0.5)
    ours = align_crop(np.asarray(big), quad, 512)
    ffhq = big.transform((2048, 2048), Image.Transform.QUAD, (quad + 0.5).flatten(), Image.BILINEAR)
    ffhq = ffhq.resize((512, 512), Image.LANCZOS)
    assert psnr(ours, np.asarray(ffhq)) > 33


def test_face_at_the_edge_is_padded_not_black():
    photo = Image.open(ASTRONAUT).convert("RGB").crop((170, 45, 512, 512))  # the face touches the top-left
    face = align_face(photo)
    assert face.quad[:, 0].min() < 0 and face.quad[:, 1].min() < 0  # the quad leaves the photo
    crop = np.asarray(face.image).astype(int)
    assert crop[:64, :64].sum(axis=2).min() > 60  # reflected and blurred, not black
    inside = np.asarray(align_face(ASTRONAUT).image)
    centre = slice(300, 724)
    assert psnr(crop[centre, centre], inside[centre, centre]) > 25


def test_encoder_input_is_cheap_and_close_to_a_direct_256_alignment(astronaut):
    small = astronaut.encoder_input()
    assert small.size == (256, 256) and small.mode == "RGB"
    direct = align_face(ASTRONAUT, size=256)
    assert direct.image.size == (256, 256)
    assert np.allclose(direct.quad, astronaut.quad)
    assert psnr(np.asarray(small), np.asarray(direct.image)) > 30


# --- inputs ----------------------------------------------------------------------------------------


def test_accepts_path_bytes_pil_and_array(astronaut):
    photo = Image.open(ASTRONAUT)
    for source in (str(ASTRONAUT), ASTRONAUT.read_bytes(), photo, np.asarray(photo.convert("RGB"))):
        assert np.allclose(align_face(source).quad, astronaut.quad, atol=1e-6)


def test_exif_rotated_photo_is_aligned_upright(tmp_path, grace):
    upright = Image.open(GRACE).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned 90°: viewers turn it back
    path = tmp_path / "phone.png"
    upright.transpose(Image.Transpose.ROTATE_90).save(path, exif=exif)
    face = align_face(path)
    assert face.photo.size == upright.size
    assert quad_error(face.quad, grace.quad) < 0.002
    result = paste_back(path, face.image, face.quad)
    assert result.size == upright.size


def test_large_photo_is_reduced_before_landmarking(monkeypatch, astronaut):
    big = cv2.resize(np.asarray(Image.open(ASTRONAUT).convert("RGB")), (4096, 4096), interpolation=cv2.INTER_CUBIC)
    assert max(Photo(big).small.shape) == DETECT_SIZE
    seen: list[tuple[int, ...]] = []
    models = landmarks_module.mediapipe_graphs()
    for graph in [*models.detectors, models.mesh]:
        original = graph.process
        monkeypatch.setattr(
            graph, "process", lambda image, original=original: seen.append(image.shape) or original(image)
        )
    face = align_face(big)
    assert seen and max(max(shape[:2]) for shape in seen) <= DETECT_SIZE
    assert any(shape[:2] == (MESH_CROP, MESH_CROP) for shape in seen)
    # Pixel i of the photo covers pixels 8i … 8i+7 of the enlargement: index 8i + 3.5.
    assert quad_error(face.quad, astronaut.quad * 8 + 3.5) < 0.015


# --- faces -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_faces() -> np.ndarray:
    canvas = np.full((600, 1100, 3), 200, np.uint8)
    canvas[:512, :512] = np.asarray(Image.open(ASTRONAUT).convert("RGB"))  # smaller face, left
    canvas[:, 560:1072] = np.asarray(Image.open(GRACE).convert("RGB"))  # larger face, right
    return canvas


def test_several_faces_largest_first_any_by_index(two_faces):
    faces = detect_faces(two_faces)
    assert len(faces) == 2 and faces[0].size > faces[1].size
    largest = align_face(two_faces)
    assert largest.num_faces == 2 and largest.quad.mean(axis=0)[0] > 560
    other = align_face(two_faces, face_index=1)
    assert other.index == 1 and other.quad.mean(axis=0)[0] < 512
    for index in (2, -1):
        with pytest.raises(FaceIndexError, match="2 faces were found") as info:
            align_face(two_faces, face_index=index)
        assert "largest first" in str(info.value)


@pytest.mark.parametrize("kind", ["noise", "gradient", "flat"])
def test_no_face(kind):
    rng = np.random.default_rng(0)
    images = {
        "noise": rng.integers(0, 256, (480, 640, 3), dtype=np.uint8),
        "gradient": np.broadcast_to(np.linspace(0, 255, 640, dtype=np.uint8)[None, :, None], (480, 640, 3)).copy(),
        "flat": np.full((480, 640, 3), 128, np.uint8),
    }
    with pytest.raises(NoFaceError, match="No face was found"):
        align_face(images[kind])


def test_face_too_small_says_the_size_found_and_needed():
    small = Image.open(ASTRONAUT).convert("RGB").resize((256, 256), Image.LANCZOS)
    found = detect_faces(small)
    assert len(found) == 1 and found[0].size < MIN_FACE_SIZE
    with pytest.raises(FaceTooSmallError) as info:
        align_face(small)
    message = str(info.value)
    assert "too small" in message and f"at least {MIN_FACE_SIZE} px" in message
    assert f"spans {round(found[0].size)} px" in message or f"spans {round(found[0].size) + 1} px" in message
    assert align_face(small, min_face_size=64).image.size == (1024, 1024)


def astronaut_in_a_large_photo(face_side: float) -> Image.Image:
    """The astronaut, scaled so her FFHQ crop spans ``face_side`` px, on a 12-megapixel grey photo."""
    photo = Image.open(ASTRONAUT).convert("RGB")
    scale = face_side / align_face(photo).size
    small = photo.resize((round(512 * scale), round(512 * scale)), Image.LANCZOS)
    canvas = Image.new("RGB", (4000, 3000), (128, 128, 128))
    canvas.paste(small, (2100, 900))
    return canvas


def test_a_small_face_in_a_large_photo_is_too_small_not_missing():
    # 67 px across in 4000x3000 is 17 px on the detection copy: only the tiled second pass finds it.
    with pytest.raises(FaceTooSmallError) as info:
        align_face(astronaut_in_a_large_photo(67))
    message = str(info.value)
    found = int(re.search(r"spans (\d+) px", message).group(1))
    assert abs(found - 67) <= 4 and f"at least {MIN_FACE_SIZE} px are needed" in message
    # A face big enough to edit, which the first pass alone missed, is found and aligned.
    large = astronaut_in_a_large_photo(200)
    face = align_face(large)
    assert abs(face.size - 200) < 6 and face.image.size == (1024, 1024)
    found = detect_faces(large)  # listed, too
    assert len(found) == 1 and abs(found[0].size - 200) < 6


def test_a_face_too_small_to_landmark_is_still_reported_with_its_size(monkeypatch):
    photo = astronaut_in_a_large_photo(67)
    monkeypatch.setattr(landmarks_module, "_mesh_in_crop", lambda *args: None)  # as for a face too blurred to mesh
    with pytest.raises(FaceTooSmallError, match=r"spans about (\d+) px") as info:
        align_face(photo)
    assert 67 * 0.75 < int(re.search(r"about (\d+) px", str(info.value)).group(1)) < 67 * 1.33


def test_a_float_tiff_with_inf_and_nan_pixels_is_aligned(tmp_path):
    values = np.asarray(Image.open(ASTRONAUT).convert("L"), np.float32) / 255.0
    values[:4] = np.inf  # one hot row used to set the range: the photo came out black, "no face"
    values[-4:] = np.nan
    path = tmp_path / "scan.tiff"
    Image.fromarray(values, "F").save(path)
    assert align_face(path).size > MIN_FACE_SIZE


def test_unreadable_upload_is_a_feat_error():
    with pytest.raises(ImageReadError):
        align_face(b"GIF89a but not really")
    with pytest.raises(FeatError):
        align_face(io.BytesIO(GRACE.read_bytes()[:2000]))


# --- paste-back ------------------------------------------------------------------------------------


def inside_quad(quad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, np.round(quad * 16).astype(np.int32), 1, shift=4)
    return cv2.dilate(mask, np.ones((3, 3), np.uint8)).astype(bool)


def test_paste_back_leaves_everything_but_the_face_bit_identical(grace):
    photo = np.asarray(grace.photo)
    edited = 255 - np.asarray(grace.image)  # as different as it gets
    result = paste_back(GRACE, edited, grace.quad)
    assert isinstance(result, Image.Image) and result.mode == "RGB" and result.size == grace.photo.size
    changed = np.any(np.asarray(result) != photo, axis=2)
    assert not np.any(changed & ~inside_quad(grace.quad, photo.shape))
    assert changed.sum() > 0.5 * grace.size**2  # the face region really was replaced
    # Pixels of the crop's border zone (outside the mask's ellipse) are untouched too.
    corners = crop_to_source(grace.quad, np.array([20.0, 1000.0]), np.array([20.0, 20.0])).round().astype(int)
    for x, y in corners:
        assert not changed[y, x]


def test_pasting_back_the_unedited_crop_reproduces_the_face(astronaut, grace):
    for face in (astronaut, grace):
        result = np.asarray(face.paste_back(face.image))
        # The central part of the crop, where the mask is 1: compare photo and round trip there.
        u, v = np.meshgrid(np.linspace(310, 714, 60), np.linspace(310, 714, 60))
        xy = np.round(crop_to_source(face.quad, u, v)).astype(int).reshape(-1, 2)
        original = np.asarray(face.photo)[xy[:, 1], xy[:, 0]]
        assert psnr(result[xy[:, 1], xy[:, 0]], original) > 33


def test_paste_back_has_no_seam(astronaut):
    """The change ramps in over the feather: no step between neighbouring pixels anywhere."""
    crop = np.asarray(astronaut.image) // 2
    darker = np.asarray(astronaut.paste_back(crop)).astype(int)
    lighter = np.asarray(astronaut.paste_back(crop + 40)).astype(int)
    change = lighter - darker  # 40·mask, where mask is the warped, feathered face mask
    assert change.max() == 40 and change.min() >= 0
    steps = max(np.abs(np.diff(change, axis=0)).max(), np.abs(np.diff(change, axis=1)).max())
    assert steps <= 8  # a hard edge would step by 40


def test_paste_back_masks_and_inputs(grace):
    photo = Image.open(GRACE)
    untouched = np.asarray(photo).copy()
    nothing = paste_back(photo, grace.image, grace.quad, mask=np.zeros((1024, 1024), np.float32))
    assert np.array_equal(np.asarray(nothing), untouched)
    assert np.array_equal(np.asarray(photo), untouched)  # the input image is not modified
    everything = paste_back(photo, grace.image, grace.quad, mask=Image.new("L", (1024, 1024), 255))
    assert np.any(np.asarray(everything) != untouched)
    with pytest.raises(ValueError, match="mask must match"):
        paste_back(photo, grace.image, grace.quad, mask=np.ones((10, 10)))
    off_photo = paste_back(photo, grace.image, grace.quad + 5000)
    assert np.array_equal(np.asarray(off_photo), untouched)
    small = paste_back(photo, grace.encoder_input(), grace.quad)  # any square size aligned to the quad
    centre = np.round(grace.quad.mean(axis=0)).astype(int)
    window = (slice(centre[1] - 40, centre[1] + 40), slice(centre[0] - 40, centre[0] + 40))
    assert psnr(np.asarray(small)[window], untouched[window]) > 28
    with pytest.raises(ValueError, match="square"):
        paste_back(photo, np.zeros((100, 120, 3), np.uint8), grace.quad)


def test_face_mask_is_feathered_and_clear_of_the_crop_edges():
    mask = face_mask(256)
    assert mask.shape == (256, 256) and mask.dtype == np.float32
    assert mask[128, 128] == 1.0 and mask.min() == 0.0
    assert not mask[:8].any() and not mask[-8:].any() and not mask[:, :8].any() and not mask[:, -8:].any()
    assert 0 < ((mask > 0) & (mask < 1)).mean() < 0.5
