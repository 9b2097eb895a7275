"""Robust image input: whatever a person uploads becomes an upright 8-bit RGB picture, or a clear error.

Phone photos arrive rotated by an EXIF tag, in 16-bit, CMYK, palette or transparent modes, as
animations, as huge files, truncated, or as something that is no image at all. `load_image` turns
every readable one into an upright ``RGB`` `PIL.Image.Image` and every unreadable one into an
`ImageReadError` whose message names only the user's file name, says what is wrong and what to do.

Conversions (what a person would expect to see):

- EXIF orientation is applied (`PIL.ImageOps.exif_transpose`); the result has no orientation tag.
- Transparency (``RGBA``, ``LA``, ``PA``, palette images with a transparent colour) is composited
  on white: a cut-out portrait should not get a black background.
- ``CMYK`` is converted through its embedded ICC profile when it has one (Photoshop CMYK JPEGs look
  wrong converted naively), otherwise with Pillow's plain formula.
- 16-bit and 32-bit grey (``I;16*``, ``I``) are scaled to 8 bits (65535 → 255); float (``F``) is
  read as 0–1 when its largest *finite* value is at most 1, else as 0–255 (a float TIFF may hold NaN
  and ±inf: NaN becomes black, +inf white, −inf black, and none of them decides the range). Grey and
  bilevel images become RGB.
- Animated images (GIF, APNG, WebP) give their first frame.
- An RGB image's ICC profile is kept in ``image.info["icc_profile"]`` so a saved result keeps its colours.

Pillow's decompression-bomb guard (`PIL.Image.MAX_IMAGE_PIXELS`) stays in force: an image over twice
that many pixels raises `ImageTooLargeError` (Pillow only warns between one and two times). Messages
give sizes in units a person reads ("4.3 gigapixels", "12.5 MB"). Formats Pillow knows but cannot decode
without an extra program or plugin (EPS/PostScript without Ghostscript, HEIC/HEIF without pillow-heif)
are named as such, with what to do.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import BinaryIO, cast

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from feat_space.errors import ImageReadError, ImageTooLargeError

ImageSource = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO | Image.Image | np.ndarray

_TRANSPARENT_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")
_BACKGROUND = (255, 255, 255)
_ORIENTATION = 0x0112  # the EXIF orientation tag
_AGAIN = "Upload it again, or save it again as JPEG or PNG."


def load_image(source: ImageSource, *, name: str | None = None) -> Image.Image:
    """Return ``source`` as an upright 8-bit ``RGB`` image.

    ``source`` is a path, the file's bytes, a binary file object, a `PIL.Image.Image` or a numpy
    array (``H×W``, ``H×W×1``, ``H×W×3`` RGB or ``H×W×4`` RGBA; uint8, uint16, bool or float).
    ``name`` is how messages call the file (default: the path's file name, else "the image").
    An already upright RGB `PIL.Image.Image` is returned as it is, not copied.

    Raises `ImageReadError` (not an image, truncated, damaged, missing) and `ImageTooLargeError`.
    """
    if isinstance(source, Image.Image):
        label = _quote(name) if name else "the image"
        _decode(source, label)
        return _to_upright_rgb(source, label)
    if isinstance(source, np.ndarray):
        return _from_array(source, _quote(name) if name else "the array")
    image, label = _open(source, name)
    _decode(image, label)
    return _to_upright_rgb(image, label)


def _quote(name: str) -> str:
    return f"'{name}'"


def _open(source: ImageSource, name: str | None) -> tuple[Image.Image, str]:
    """Open lazily (header only), turning every failure into a message about the user's file."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        label = _quote(name or path.name)
        if not path.is_file():
            raise ImageReadError(f"Could not read {label}: the file does not exist. Choose the photo again.")
        stream: BinaryIO = io.BytesIO(path.read_bytes())
    elif isinstance(source, (bytes, bytearray, memoryview)):
        label = _quote(name) if name else "the image"
        stream = io.BytesIO(bytes(source))
    elif hasattr(source, "read"):
        file_name = name or os.path.basename(str(getattr(source, "name", "") or "")) or None
        label = _quote(file_name) if file_name else "the image"
        # Pillow needs to seek; an upload stream may not allow it.
        stream = cast(BinaryIO, source) if _seekable(source) else io.BytesIO(source.read())
    else:
        raise ImageReadError(
            f"Could not read the image: expected a file path, bytes, a file, a PIL image or a numpy array, "
            f"got {type(source).__name__}."
        )
    try:
        return Image.open(stream), label
    except Image.DecompressionBombError as err:
        raise _too_large(label, err) from err
    except UnidentifiedImageError as err:
        raise ImageReadError(_not_an_image(label, stream)) from err
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise ImageReadError(f"Could not read {label}: the file is damaged or incomplete. {_AGAIN}") from err


def _seekable(stream: object) -> bool:
    try:
        return bool(stream.seekable())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False


def _decode(image: Image.Image, label: str) -> None:
    """Decode the pixels now, so a truncated file fails here with a clear message, not later."""
    try:
        image.load()
    except Image.DecompressionBombError as err:
        raise _too_large(label, err) from err
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as err:
        missing = _missing_decoder(image.format)
        if missing:
            raise ImageReadError(f"Could not read {label}: {missing}") from err
        truncated = "truncated" in str(err)
        size = _stream_size(image)
        read = f", {human_bytes(size)} arrived" if size else ""
        detail = f"is truncated (the upload may be incomplete{read})" if truncated else "is damaged or incomplete"
        raise ImageReadError(f"Could not read {label}: the file {detail}. {_AGAIN}") from err


def _missing_decoder(image_format: str | None) -> str | None:
    """What to say when Pillow recognised the format but cannot decode it here, else None."""
    if image_format == "EPS":
        from PIL import EpsImagePlugin

        if not EpsImagePlugin.has_ghostscript():
            return (
                "EPS and PostScript images need Ghostscript to be read, and it is not installed here. Export it "
                "as PNG or JPEG and upload that (or, running feat-space yourself, install Ghostscript: "
                "apt-get install ghostscript)."
            )
    return None


def _stream_size(image: Image.Image) -> int | None:
    stream = getattr(image, "fp", None)
    try:
        return len(stream.getbuffer()) if isinstance(stream, io.BytesIO) else None
    except (ValueError, AttributeError):
        return None


def human_pixels(pixels: float) -> str:
    """A pixel count as a person reads it: "4.3 gigapixels", "179 megapixels", "12.6 megapixels", "10,000 pixels"."""
    if pixels >= 10e9:
        return f"{pixels / 1e9:,.0f} gigapixels"
    if pixels >= 1e9:
        return f"{pixels / 1e9:.1f} gigapixels"
    if pixels >= 100e6:
        return f"{pixels / 1e6:,.0f} megapixels"
    if pixels >= 1e6:
        return f"{pixels / 1e6:.1f} megapixels"
    return f"{pixels:,.0f} pixels"


def human_bytes(size: float) -> str:
    """A byte count in decimal units, as file browsers show it: "950 bytes", "12.5 MB", "3.2 GB"."""
    if size < 1000:
        return f"{size:.0f} bytes"
    for unit in ("kB", "MB", "GB", "TB"):
        size /= 1000
        if size < 999.95 or unit == "TB":
            return f"{size:.1f} {unit}" if size < 100 else f"{size:,.0f} {unit}"
    raise AssertionError("unreachable")


def _too_large(label: str, err: Exception) -> ImageTooLargeError:
    numbers = [int(n) for n in re.findall(r"\d+", str(err))]
    limit = 2 * Image.MAX_IMAGE_PIXELS if Image.MAX_IMAGE_PIXELS else None
    found = f" ({human_pixels(numbers[0])})" if numbers else ""
    allowed = f"; at most {human_pixels(limit)} are accepted" if limit else ""
    return ImageTooLargeError(
        f"{label[0].upper()}{label[1:]} is too large{found}{allowed}. Resize it (a few thousand pixels a side "
        "is plenty) and upload it again."
    )


def _not_an_image(label: str, stream: BinaryIO) -> str:
    try:
        stream.seek(0)
        head = stream.read(16)
    except (OSError, ValueError):
        head = b""
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return (
            f"Could not read {label}: HEIC and HEIF photos (an iPhone's default) need the pillow-heif plugin, which is "
            "not installed here. Export it as JPEG or PNG (on an iPhone: Settings → Camera → Formats → Most "
            "Compatible) and upload that, or, running feat-space yourself, pip install pillow-heif."
        )
    return (
        f"Could not read {label}: it is not an image in a supported format (JPEG, PNG, WebP, GIF, BMP, TIFF). "
        "Choose a photo file."
    )


def _to_upright_rgb(image: Image.Image, label: str) -> Image.Image:
    if getattr(image, "n_frames", 1) > 1 and image.tell() != 0:
        image.seek(0)  # the first frame of an animation
        _decode(image, label)
    try:
        # exif_transpose copies even an upright image; a 12 MP copy costs tens of milliseconds.
        rotated = image.getexif().get(_ORIENTATION, 1) not in (1, None)
        upright = ImageOps.exif_transpose(image) if rotated else image
    except (OSError, SyntaxError, ValueError, KeyError, TypeError):
        upright = image  # a broken EXIF block must not refuse an otherwise good photo
    return _to_rgb(upright or image, label)


def _to_rgb(image: Image.Image, label: str) -> Image.Image:
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in _TRANSPARENT_MODES or (mode == "P" and "transparency" in image.info):
        return _keep_profile(_on_white(image.convert("RGBA")), image)
    if mode == "CMYK":
        return _cmyk_to_rgb(image)
    if mode in _SIXTEEN_BIT_MODES or mode == "F":
        return Image.fromarray(_to_uint8(np.asarray(image), label), "L").convert("RGB")
    try:
        converted = image.convert("RGB")
    except (ValueError, OSError) as err:
        message = f"Could not read {label}: its colour mode {mode} is not supported. Save it as an RGB JPEG or PNG."
        raise ImageReadError(message) from err
    return _keep_profile(converted, image) if mode == "P" else converted


def _keep_profile(converted: Image.Image, original: Image.Image) -> Image.Image:
    """Carry an RGB ICC profile over to the converted pixels (a grey or CMYK one would not describe them)."""
    profile = original.info.get("icc_profile")
    if profile:
        converted.info["icc_profile"] = profile
    return converted


def _on_white(rgba: Image.Image) -> Image.Image:
    background = Image.new("RGBA", rgba.size, (*_BACKGROUND, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _cmyk_to_rgb(image: Image.Image) -> Image.Image:
    profile = image.info.get("icc_profile")
    if profile:
        try:
            from PIL import ImageCms
        except ImportError:  # Pillow built without littlecms
            return image.convert("RGB")
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
        except (OSError, ValueError, TypeError, ImageCms.PyCMSError):
            converted = None  # a broken or unusable profile: fall back to Pillow's formula
        if converted is not None:
            converted.info.pop("icc_profile", None)  # the pixels are sRGB now
            return converted
    return image.convert("RGB")


def _to_uint8(values: np.ndarray, label: str = "the array") -> np.ndarray:
    """Scale grey or colour values of any numeric type to 0–255 uint8 (see the module doc for the rules)."""
    if values.dtype == np.uint8:
        return values
    if values.dtype == bool:
        return values.astype(np.uint8) * 255
    if values.dtype.kind in "ui":
        wide = values.astype(np.float32)
        # 16-bit data (also when held in 32-bit 'I' images) spans 0–65535; 8-bit data in a wider type stays.
        scaled = wide / 257.0 if values.dtype.itemsize >= 2 and wide.max(initial=0) > 255 else wide
        return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    if values.dtype.kind == "f":
        return _float_to_uint8(values.astype(np.float32), label)
    raise ImageReadError(f"Could not read {label}: values of type {values.dtype} are not pixel values.")


def _float_to_uint8(values: np.ndarray, label: str) -> np.ndarray:
    """Float pixels: the range (0–1 or 0–255) is read from the finite values only, so a few inf or NaN
    pixels (HDR and scientific TIFFs have them) cannot turn the whole picture black."""
    finite = np.isfinite(values)
    if not finite.any():
        raise ImageReadError(
            f"Could not read {label}: none of its pixel values is a number (all are NaN or infinite). "
            "Save it again as an 8-bit JPEG or PNG."
        )
    top = 1.0 if float(values[finite].max()) <= 1.0 else 255.0
    clean = np.nan_to_num(values, nan=0.0, posinf=top, neginf=0.0)
    return np.clip(np.rint(clean * (255.0 / top)), 0, 255).astype(np.uint8)


def _from_array(array: np.ndarray, label: str) -> Image.Image:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)) or array.size == 0:
        raise ImageReadError(
            f"Could not read {label}: expected an H×W, H×W×3 (RGB) or H×W×4 (RGBA) array, got shape {array.shape}."
        )
    pixels = np.ascontiguousarray(_to_uint8(array, label))
    if pixels.ndim == 2:
        return Image.fromarray(pixels, "L").convert("RGB")
    if pixels.shape[2] == 4:
        return _on_white(Image.fromarray(pixels, "RGBA"))
    return Image.fromarray(pixels, "RGB")
