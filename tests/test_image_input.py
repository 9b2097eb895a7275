"""Whatever a person uploads becomes an upright 8-bit RGB image, or a FeatError a person can act on."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from feat_space import image_input
from feat_space.errors import FeatError, ImageReadError, ImageTooLargeError
from feat_space.image_input import human_bytes, human_pixels, load_image

DATA = Path(__file__).parent / "data"


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def asymmetric() -> Image.Image:
    """6×4 picture whose top-left pixel is red and top-right green: any rotation or flip shows."""
    pixels = np.zeros((4, 6, 3), np.uint8)
    pixels[0, 0] = (255, 0, 0)
    pixels[0, -1] = (0, 255, 0)
    return Image.fromarray(pixels, "RGB")


def assert_user_message(error: BaseException, *, mentions: str = "") -> None:
    """A message for a person: no traceback, no exception class names, no paths but the file's name."""
    message = str(error)
    assert message and "Traceback" not in message and "Error" not in message
    assert "/" not in message and "\\" not in message
    assert mentions.lower() in message.lower()


# --- orientation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("orientation", "stored"),
    [
        (3, Image.Transpose.ROTATE_180),  # stored upside down
        (6, Image.Transpose.ROTATE_90),  # phone held upright: stored rotated, displayed turned 90° clockwise
        (8, Image.Transpose.ROTATE_270),
        (2, Image.Transpose.FLIP_LEFT_RIGHT),
    ],
)
def test_exif_orientation_is_applied(orientation, stored):
    upright = asymmetric()
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(upright.transpose(stored), "PNG", exif=exif)
    loaded = load_image(data)
    assert loaded.size == upright.size
    assert np.array_equal(np.asarray(loaded), np.asarray(upright))
    assert loaded.getexif().get(0x0112, 1) == 1


def test_upright_rgb_image_is_not_copied():
    image = asymmetric()
    assert load_image(image) is image


# --- modes ---------------------------------------------------------------------------------------


def test_rgba_and_la_are_composited_on_white():
    pixels = np.zeros((2, 2, 4), np.uint8)
    pixels[0, 0] = (255, 0, 0, 255)  # opaque red
    pixels[0, 1] = (0, 0, 0, 0)  # transparent
    pixels[1, 0] = (0, 0, 0, 128)  # half-transparent black
    loaded = np.asarray(load_image(Image.fromarray(pixels, "RGBA")))
    assert loaded[0, 0].tolist() == [255, 0, 0]
    assert loaded[0, 1].tolist() == [255, 255, 255]
    assert abs(int(loaded[1, 0, 0]) - 127) <= 1
    la = Image.fromarray(np.array([[[0, 0], [0, 255]]], np.uint8), "LA")
    assert np.asarray(load_image(la)).tolist() == [[[255, 255, 255], [0, 0, 0]]]


def test_palette_with_transparency_and_plain_palette():
    palette = Image.new("P", (2, 1))
    palette.putpalette([0, 0, 255, 10, 20, 30] + [0] * 762)
    palette.putpixel((0, 0), 0)
    palette.putpixel((1, 0), 1)
    assert np.asarray(load_image(palette)).tolist() == [[[0, 0, 255], [10, 20, 30]]]
    transparent = Image.open(io.BytesIO(encode(palette, "PNG", transparency=0)))
    assert transparent.mode == "P" and "transparency" in transparent.info
    assert np.asarray(load_image(transparent)).tolist() == [[[255, 255, 255], [10, 20, 30]]]


def test_cmyk_jpeg_becomes_rgb():
    cmyk = Image.new("CMYK", (8, 8), (0, 255, 255, 0))  # pure red ink
    loaded = load_image(encode(cmyk, "JPEG", quality=95))
    assert loaded.mode == "RGB"
    r, g, b = np.asarray(loaded).reshape(-1, 3).mean(axis=0)
    assert r > 200 and g < 60 and b < 60


def test_sixteen_bit_grey_is_scaled_to_eight_bits():
    values = np.array([[0, 257 * 100, 65535]], np.uint16)
    png = encode(Image.fromarray(values), "PNG")
    opened = Image.open(io.BytesIO(png))
    assert opened.mode.startswith("I")
    assert np.asarray(load_image(png))[0, :, 0].tolist() == [0, 100, 255]
    assert np.asarray(load_image(Image.fromarray(values.astype(np.int32), "I")))[0, :, 0].tolist() == [0, 100, 255]


def test_float_and_grey_and_bilevel_modes():
    as_float = Image.fromarray(np.array([[0.0, 0.5, 1.0]], np.float32), "F")
    assert np.asarray(load_image(as_float))[0, :, 0].tolist() == [0, 128, 255]
    grey = load_image(Image.new("L", (3, 2), 77))
    assert grey.mode == "RGB" and np.all(np.asarray(grey) == 77)
    assert np.all(np.asarray(load_image(Image.new("1", (3, 2), 1))) == 255)


def test_animated_image_gives_its_first_frame():
    frames = [Image.new("RGB", (4, 4), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    gif = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(io.BytesIO(gif)).n_frames == 2
    loaded = np.asarray(load_image(gif))
    assert loaded.reshape(-1, 3).mean(axis=0).tolist() == pytest.approx([255, 0, 0], abs=2)
    animated = Image.open(io.BytesIO(gif))
    animated.seek(1)  # even when someone left the animation on a later frame
    assert np.asarray(load_image(animated)).reshape(-1, 3).mean(axis=0).tolist() == pytest.approx([255, 0, 0], abs=2)


def test_rgb_icc_profile_is_kept():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    loaded = load_image(encode(asymmetric(), "PNG", icc_profile=profile))
    assert loaded.info.get("icc_profile") == profile


# --- sources -------------------------------------------------------------------------------------


def test_sources_path_bytes_file_and_stream(tmp_path):
    path = tmp_path / "photo.png"
    asymmetric().save(path)
    expected = np.asarray(asymmetric())
    data = path.read_bytes()

    class Unseekable(io.RawIOBase):
        def __init__(self, payload: bytes) -> None:
            self._stream = io.BytesIO(payload)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer) -> int:
            chunk = self._stream.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    for source in (path, str(path), data, bytearray(data), io.BytesIO(data), Unseekable(data), path.open("rb")):
        assert np.array_equal(np.asarray(load_image(source)), expected), type(source)


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.full((2, 3, 3), 9, np.uint8), 9),
        (np.full((2, 3), 9, np.uint8), 9),
        (np.full((2, 3, 1), 9, np.uint8), 9),
        (np.full((2, 3, 3), 0.5, np.float32), 128),
        (np.full((2, 3, 3), 200.0, np.float64), 200),
        (np.full((2, 3, 3), 257 * 9, np.uint16), 9),
        (np.ones((2, 3), bool), 255),
        (np.dstack([np.full((2, 3, 3), 9, np.uint8), np.full((2, 3), 255, np.uint8)]), 9),
    ],
)
def test_numpy_arrays(array, expected):
    loaded = load_image(array)
    assert loaded.mode == "RGB" and loaded.size == (3, 2)
    assert np.all(np.asarray(loaded) == expected)


def test_bad_array_shape_is_a_clear_error():
    with pytest.raises(ImageReadError, match="expected an H×W") as info:
        load_image(np.zeros((2, 3, 5), np.uint8))
    assert_user_message(info.value)


# --- unreadable input ----------------------------------------------------------------------------


def test_truncated_jpeg_and_png(tmp_path):
    photo = Image.open(DATA / "grace_hopper.jpg")
    for fmt, name in (("JPEG", "holiday.jpg"), ("PNG", "holiday.png")):
        data = encode(photo, fmt)
        path = tmp_path / name
        path.write_bytes(data[: len(data) // 2])
        with pytest.raises(ImageReadError) as info:
            load_image(path)
        assert_user_message(info.value, mentions=name)
        assert "truncated" in str(info.value) or "damaged" in str(info.value)
        assert "upload it again" in str(info.value).lower()


def test_not_an_image(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("dear diary")
    with pytest.raises(ImageReadError, match="not an image") as info:
        load_image(path)
    assert_user_message(info.value, mentions="notes.txt")
    with pytest.raises(ImageReadError):
        load_image(b"")
    with pytest.raises(ImageReadError, match="expected a file path"):
        load_image(42)  # type: ignore[arg-type]


def test_heic_gets_a_specific_message():
    heic_header = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    with pytest.raises(ImageReadError, match="HEIC") as info:
        load_image(heic_header, name="IMG_0001.HEIC")
    assert_user_message(info.value, mentions="IMG_0001.HEIC")


def test_missing_file(tmp_path):
    with pytest.raises(ImageReadError, match="does not exist") as info:
        load_image(tmp_path / "gone.jpg")
    assert_user_message(info.value, mentions="gone.jpg")


def test_decompression_bomb_guard_is_kept(monkeypatch):
    data = encode(Image.new("RGB", (100, 100)), "PNG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2_000)  # 10,000 px is over twice the limit
    with pytest.raises(ImageTooLargeError, match="too large") as info:
        load_image(data, name="huge.png")
    assert isinstance(info.value, FeatError)
    assert_user_message(info.value, mentions="huge.png")
    assert "10,000 pixels" in str(info.value)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 6_000)  # between 1× and 2×: Pillow only warns
    with pytest.warns(Image.DecompressionBombWarning):
        assert load_image(data).size == (100, 100)


# --- float pixels, sizes in human units, formats that need a missing decoder ------------------------


def test_float_tiff_with_nan_and_inf_keeps_its_range(tmp_path):
    grey = np.asarray(Image.open(DATA / "astronaut.png").convert("L"), np.float32)
    values = grey / 255.0  # a 0–1 float picture, as scientific and HDR tools write them
    values[:8, :8] = np.nan
    values[:8, -8:] = np.inf
    values[-8:, :8] = -np.inf
    path = tmp_path / "portrait.tiff"
    Image.fromarray(values, "F").save(path)
    assert Image.open(path).mode == "F"
    loaded = np.asarray(load_image(path))[:, :, 0].astype(int)
    inner = (slice(8, -8), slice(8, -8))
    assert np.abs(loaded[inner] - grey[inner]).max() <= 1, "inf must not decide the range (it did: near-black)"
    assert (loaded[:8, :8] == 0).all() and (loaded[:8, -8:] == 255).all() and (loaded[-8:, :8] == 0).all()
    # A 0–255 float picture with an inf stays 0–255, and inf is its white.
    wide = grey.copy()
    wide[0, 0] = np.inf
    assert np.array_equal(np.asarray(load_image(wide))[1:, :, 0], grey[1:].round().astype(np.uint8))


def test_float_image_without_a_finite_value_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.tiff"
    Image.fromarray(np.full((4, 4), np.nan, np.float32), "F").save(path)
    with pytest.raises(ImageReadError, match="none of its pixel values is a number") as info:
        load_image(path)
    assert_user_message(info.value, mentions="empty.tiff")


@pytest.mark.parametrize(
    ("pixels", "text"),
    [
        (4_290_000_000, "4.3 gigapixels"),
        (12_600_000, "12.6 megapixels"),
        (179_000_000, "179 megapixels"),
        (10_000, "10,000 pixels"),
    ],
)
def test_pixel_counts_read_as_a_person_says_them(pixels, text):
    assert human_pixels(pixels) == text


@pytest.mark.parametrize(
    ("size", "text"), [(950, "950 bytes"), (12_500_000, "12.5 MB"), (3_210_000_000, "3.2 GB"), (999_960, "1.0 MB")]
)
def test_byte_counts_in_decimal_units(size, text):
    assert human_bytes(size) == text


def test_a_bomb_s_size_is_in_human_units(monkeypatch):
    data = encode(Image.new("RGB", (100, 100)), "PNG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2_000)
    with pytest.raises(ImageTooLargeError) as info:
        load_image(data, name="huge.png")
    assert "(10,000 pixels); at most 4,000 pixels are accepted" in str(info.value)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000_000)
    big = Image.DecompressionBombError("Image size (4290000000 pixels) exceeds limit of 2000000000 pixels")
    message = str(image_input._too_large("'pano.tif'", big))
    assert "(4.3 gigapixels)" in message and "at most 2.0 gigapixels are accepted" in message


def test_truncated_upload_says_how_much_arrived():
    data = encode(Image.open(DATA / "grace_hopper.jpg"), "PNG")
    with pytest.raises(ImageReadError, match=r"truncated \(the upload may be incomplete, [\d.]+ kB arrived\)"):
        load_image(data[: len(data) // 2], name="hopper.png")


def test_eps_without_ghostscript_is_named_with_what_to_do(monkeypatch):
    from PIL import EpsImagePlugin

    monkeypatch.setattr(EpsImagePlugin, "gs_binary", False)  # as on a machine without Ghostscript
    eps = encode(Image.new("RGB", (8, 8), (200, 10, 10)), "EPS")
    with pytest.raises(ImageReadError) as info:
        load_image(eps, name="logo.eps")
    message = str(info.value)
    assert "need Ghostscript" in message and "Export it as PNG or JPEG" in message and "damaged" not in message
    assert_user_message(info.value, mentions="logo.eps")


def test_heic_names_the_missing_plugin():
    heic_header = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    with pytest.raises(ImageReadError, match=r"need the pillow-heif plugin.*pip install pillow-heif"):
        load_image(heic_header, name="IMG_0002.HEIC")
