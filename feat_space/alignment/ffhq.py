"""FFHQ's alignment procedure: the oriented crop square from eye and mouth points, and the crop itself.

Follows NVlabs ffhq-dataset's ``recreate_aligned_images`` (the quad, the border, reflect padding with
its blurred, median-tinted edge, the quad transform), with one documented change for speed: instead
of shrinking the whole photo by an integer factor, transforming to 4096² with bilinear sampling and
downscaling to 1024² with a Lanczos filter, only the region around the quad is cut out, reduced with
area averaging (cv2 ``INTER_AREA``) so the quad's side is at most the output size, padded there, and
transformed once with bicubic sampling at (at most) unit scale. Both are antialiased resamplings of
the same quad; ours touches a few megapixels instead of 16.

Coordinates are pixel indices (the centre of the top-left pixel is (0, 0)), as dlib's landmarks that
FFHQ fed to Pillow as ``quad + 0.5``. Output pixel (u, v) of an ``S``² crop samples the source at
``quad[0] + (u + 0.5) / S · (quad[3] − quad[0]) + (v + 0.5) / S · (quad[1] − quad[0])``
(`square_to_quad`), exactly Pillow's ``QUAD`` transform in FFHQ.
"""

from __future__ import annotations

import cv2
import numpy as np


def ffhq_quad(
    eye_left: np.ndarray, eye_right: np.ndarray, mouth_left: np.ndarray, mouth_right: np.ndarray
) -> np.ndarray:
    """FFHQ's crop square, [4, 2]: top-left, bottom-left, bottom-right, top-right (image left/right)."""
    eye_left, eye_right = np.asarray(eye_left, np.float64), np.asarray(eye_right, np.float64)
    eye_avg = (eye_left + eye_right) * 0.5
    eye_to_eye = eye_right - eye_left
    mouth_avg = (np.asarray(mouth_left, np.float64) + np.asarray(mouth_right, np.float64)) * 0.5
    eye_to_mouth = mouth_avg - eye_avg
    # x: the crop's horizontal half-side, levelled between the eye line and the face's vertical axis.
    x = eye_to_eye - np.flipud(eye_to_mouth) * [-1, 1]
    x /= np.hypot(*x)
    x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.flipud(x) * [-1, 1]
    c = eye_avg + eye_to_mouth * 0.1
    return np.stack([c - x - y, c - x + y, c + x + y, c + x - y])


def square_to_quad(quad: np.ndarray, size: int) -> np.ndarray:
    """2×3 affine map from pixel indices of the ``size``² crop to source pixel indices."""
    quad = np.asarray(quad, np.float64)
    ex = (quad[3] - quad[0]) / size  # one crop pixel to the right
    ey = (quad[1] - quad[0]) / size  # one crop pixel down
    origin = quad[0] + 0.5 * ex + 0.5 * ey
    return np.array([[ex[0], ey[0], origin[0]], [ex[1], ey[1], origin[1]]])


def quad_size(quad: np.ndarray) -> float:
    """FFHQ's ``qsize``: the side of the crop square in source pixels."""
    return float(np.hypot(*(np.asarray(quad)[3] - np.asarray(quad)[0])))


def align_crop(rgb: np.ndarray, quad: np.ndarray, size: int = 1024) -> np.ndarray:
    """The ``size``² FFHQ crop of ``quad`` from an RGB uint8 photo (the photo is not modified)."""
    quad = np.asarray(quad, np.float64)
    height, width = rgb.shape[:2]
    qsize = quad_size(quad)
    border = max(int(np.rint(qsize * 0.1)), 3)

    # Crop: the quad's bounding box plus the border, inside the photo.
    lo = np.floor(quad.min(axis=0)).astype(int)
    hi = np.ceil(quad.max(axis=0)).astype(int)
    # (At least one pixel, even for a quad wholly outside the photo: padding then fills it all.)
    x0, y0 = int(np.clip(lo[0] - border, 0, width - 1)), int(np.clip(lo[1] - border, 0, height - 1))
    x1, y1 = int(np.clip(hi[0] + border, x0 + 1, width)), int(np.clip(hi[1] + border, y0 + 1, height))
    region = rgb[y0:y1, x0:x1]

    # Reduce so the quad is at most `size` across: the only downsampling, area-averaged (antialiased).
    scale = min(1.0, size / qsize)
    if scale < 1.0:
        new_w, new_h = max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))
        region = cv2.resize(region, (new_w, new_h), interpolation=cv2.INTER_AREA)
        sx, sy = new_w / (x1 - x0), new_h / (y1 - y0)
    else:
        sx = sy = 1.0
    # Source index → region index (resizing maps pixel edges to pixel edges).
    to_region = np.array([[sx, 0.0, (0.5 - x0) * sx - 0.5], [0.0, sy, (0.5 - y0) * sy - 0.5]])
    local_quad = quad @ to_region[:, :2].T + to_region[:, 2]

    # Pad where the quad leaves the photo: reflect, blur towards the edge, fade to the median colour.
    region, pad_left, pad_top = _pad(region, local_quad, qsize * scale)
    to_region[:, 2] += (pad_left, pad_top)

    crop_to_source = np.vstack([square_to_quad(quad, size), [0.0, 0.0, 1.0]])
    crop_to_region = np.vstack([to_region, [0.0, 0.0, 1.0]]) @ crop_to_source
    return cv2.warpAffine(
        np.ascontiguousarray(region),
        crop_to_region[:2],
        (size, size),
        flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT_101,
    )


def _pad(region: np.ndarray, quad: np.ndarray, qsize: float) -> tuple[np.ndarray, int, int]:
    """FFHQ's padding of ``region`` (in its own pixels); returns the padded region and its left/top pad."""
    height, width = region.shape[:2]
    border = max(int(np.rint(qsize * 0.1)), 3)
    lo = np.floor(quad.min(axis=0)).astype(int)
    hi = np.ceil(quad.max(axis=0)).astype(int)
    pad = np.array([-lo[0] + border, -lo[1] + border, hi[0] - width + border, hi[1] - height + border])
    pad = np.maximum(pad, 0)
    if pad.max() <= border - 4:
        return region, 0, 0
    left, top, right, bottom = (int(p) for p in np.maximum(pad, max(int(np.rint(qsize * 0.3)), 1)))
    padded = cv2.copyMakeBorder(region, top, bottom, left, right, cv2.BORDER_REFLECT_101).astype(np.float32)
    h, w = padded.shape[:2]
    ys, xs = np.ogrid[:h, :w]
    xs, ys = xs.astype(np.float32), ys.astype(np.float32)
    mask = np.maximum(
        1.0 - np.minimum(xs / left, (w - 1 - xs) / right),
        1.0 - np.minimum(ys / top, (h - 1 - ys) / bottom),
    )[..., None]
    blurred = _gaussian(padded, qsize * 0.02)
    padded += (blurred - padded) * np.clip(mask * 3.0 + 1.0, 0.0, 1.0)
    # The median colour from every 4th pixel: the same colour for a fraction of the cost.
    padded += (np.median(padded[::4, ::4], axis=(0, 1)) - padded) * np.clip(mask, 0.0, 1.0)
    return np.clip(np.rint(padded), 0, 255).astype(np.uint8), left, top


def _gaussian(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur; a wide one is computed at a reduced size (its result has no fine detail to lose)."""
    step = max(1, int(sigma // 4))
    if step == 1:
        return cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(1, w // step), max(1, h // step)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / step, borderType=cv2.BORDER_REFLECT_101)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
