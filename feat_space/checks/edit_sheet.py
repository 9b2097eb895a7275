"""Running one edit on sample photos and measuring it: the numbers and the contact sheet a reviewer
(`edits verify`) or a health check (`doctor`) shows.

`measure_edit(session, edit, photos)` edits each photo at each strength with `edit_photo` and measures,
on the aligned face (the generator's frame, where the edit happens):

- **mask share**: the mean of the edit's mask after the threshold (0–1 of the aligned face);
- **change inside / outside**: the mean absolute difference between the edited rendering and the
  reconstruction (the generator's rendering before editing), in 0–255 levels, weighted by the mask
  inside and by 1 − mask outside: a local edit changes much inside and almost nothing outside;
- **identity**: ArcFace cosine between reconstruction and edited rendering (1 = the same person);
- **time**: seconds to prepare each photo (align, invert; once) and for each edit.

`contact_sheet(measurement)` lays it out: one row per photo, the aligned photo, the edit at each strength
(what the user gets, pasted through the edit's paste mask) and the mask over the photo.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..editing.edit import FeatEdit
from ..errors import FeatError
from ..models.arcface import face_crop_112
from ..session.photo import image_to_tensor
from ..session.photo_edit import edit_photo
from ..session.session import Session

DEFAULT_STRENGTHS = (0.5, 1.0, 1.5)
SAMPLE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
_PACKAGE = Path(__file__).resolve().parents[1]  # feat_space/


def sample_photos_dir() -> Path:
    """The sample photos: a checkout's `tests/data`, else the copy an installed package ships as
    `feat_space/sample_photos` (the wheel's build copies `tests/data` there; git holds one copy)."""
    checkout = _PACKAGE.parent
    in_checkout = [checkout / "tests" / "data"] if (checkout / "pyproject.toml").is_file() else []
    for folder in [*in_checkout, _PACKAGE / "sample_photos"]:
        if folder.is_dir() and any(p.suffix.lower() in SAMPLE_SUFFIXES for p in folder.iterdir()):
            return folder
    raise FeatError(
        f"No sample photos found (looked in {checkout / 'tests' / 'data'} and {_PACKAGE / 'sample_photos'}). "
        "Run from a checkout of feat-space or reinstall the package, or name photos of your own."
    )


def sample_photos() -> list[Path]:
    """The sample photos' paths, sorted by name."""
    folder = sample_photos_dir()
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in SAMPLE_SUFFIXES)


@dataclass(frozen=True)
class StrengthMeasurement:
    """One photo edited at one strength."""

    strength: float
    change_inside: float  # mean |edited − reconstruction| under the mask, 0–255 levels
    change_outside: float  # the same under 1 − mask
    identity: float  # ArcFace cosine, reconstruction vs edited rendering
    seconds: float  # the edit_photo call
    image: Image.Image = field(repr=False, compare=False)  # the aligned photo with the edit pasted in


@dataclass(frozen=True)
class PhotoMeasurement:
    photo: str  # the photo's name
    mask_share: float  # mean thresholded mask over the aligned face, 0–1
    prepare_seconds: float  # alignment and inversion, once per photo
    strengths: tuple[StrengthMeasurement, ...]
    aligned: Image.Image = field(repr=False, compare=False)  # the aligned photo (original pixels)
    mask: Image.Image = field(repr=False, compare=False)  # "L", the thresholded mask, aligned frame


@dataclass(frozen=True)
class EditMeasurement:
    name: str
    threshold: float
    photos: tuple[PhotoMeasurement, ...]
    notice: str | None = None  # the session's notice (untrained tiny models), shown with the numbers

    def numbers(self) -> dict[str, Any]:
        """Everything measured, as JSON-ready data (no images)."""
        return {
            "name": self.name,
            "threshold": self.threshold,
            "notice": self.notice,
            "photos": [
                {
                    "photo": p.photo,
                    "mask_share": p.mask_share,
                    "prepare_seconds": p.prepare_seconds,
                    "strengths": [
                        {
                            "strength": s.strength,
                            "change_inside": s.change_inside,
                            "change_outside": s.change_outside,
                            "identity": s.identity,
                            "seconds": s.seconds,
                        }
                        for s in p.strengths
                    ],
                }
                for p in self.photos
            ],
        }

    def table(self) -> str:
        """The numbers as a Markdown table, one row per photo and strength."""
        return numbers_table(self.numbers())


def numbers_table(numbers: dict[str, Any]) -> str:
    """`EditMeasurement.numbers()` as a Markdown table, one row per photo and strength."""
    lines = [
        "| photo | strength | mask share | change inside | change outside | identity | seconds |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for p in numbers["photos"]:
        for s in p["strengths"]:
            lines.append(
                f"| {p['photo']} | {s['strength']:g} | {p['mask_share']:.1%} | {s['change_inside']:.1f} | "
                f"{s['change_outside']:.2f} | {s['identity']:.3f} | {s['seconds']:.2f} |"
            )
    return "\n".join(lines)


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float32)


def _weights(mask: Image.Image, size: tuple[int, int]) -> np.ndarray:
    if mask.size != size:
        mask = mask.resize(size, Image.Resampling.BILINEAR)
    return np.asarray(mask, dtype=np.float32) / 255.0


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    total = float(weights.sum())
    return float((values * weights).sum() / total) if total > 0 else 0.0


@torch.no_grad()
def _identity(session: Session, a: Image.Image, b: Image.Image) -> float:
    arcface = session.arcface
    parameter = next(arcface.parameters())
    x = torch.cat([image_to_tensor(a), image_to_tensor(b)]).to(parameter.device, parameter.dtype)
    emb = arcface(face_crop_112(x)).float()
    return float((emb[0] * emb[1]).sum())


def _name(photo: Any, index: int) -> str:
    return Path(photo).name if isinstance(photo, (str, os.PathLike)) else f"photo {index + 1}"


def measure_edit(
    session: Session,
    edit: FeatEdit,
    photos: Iterable[Any],
    strengths: Sequence[float] = DEFAULT_STRENGTHS,
    threshold: float = 0.0,
    *,
    name: str | None = None,
) -> EditMeasurement:
    """Edit each of `photos` (paths or images, anything `edit_photo` reads) at each of `strengths`
    with the mask `threshold`, and measure it (module docstring). Errors a photo causes (no face)
    are `FeatError`s naming the photo."""
    if not strengths:
        raise FeatError("Name at least one strength to measure the edit at.")
    measured = []
    for index, photo in enumerate(photos):
        label = _name(photo, index)
        start = time.perf_counter()
        try:
            prepared = session.prepare(photo)
        except FeatError as e:
            raise type(e)(f"{label}: {e}") from None
        prepare_seconds = time.perf_counter() - start
        rows = []
        mask: Image.Image | None = None
        reconstruction: np.ndarray | None = None
        for strength in strengths:
            start = time.perf_counter()
            result = edit_photo(session, prepared, [(edit, float(strength))], threshold=threshold)
            seconds = time.perf_counter() - start
            if reconstruction is None:  # the same for every strength: rendered once
                reconstruction = _pixels(result.reconstruction)
            mask = result.mask
            edited = _pixels(result.edited)
            change = np.abs(edited - reconstruction).mean(axis=-1)
            inside = _weights(result.mask, result.edited.size)
            paste = _weights(result.paste_mask, result.aligned.size)[..., None]
            shown = _pixels(result.aligned) * (1 - paste) + _pixels(result.edited.resize(result.aligned.size)) * paste
            rows.append(
                StrengthMeasurement(
                    strength=float(strength),
                    change_inside=_weighted_mean(change, inside),
                    change_outside=_weighted_mean(change, 1 - inside),
                    identity=_identity(session, result.reconstruction, result.edited),
                    seconds=seconds,
                    image=Image.fromarray(shown.round().clip(0, 255).astype(np.uint8), "RGB"),
                )
            )
        assert mask is not None  # strengths is not empty
        measured.append(
            PhotoMeasurement(
                photo=label,
                mask_share=float(_weights(mask, mask.size).mean()),
                prepare_seconds=prepare_seconds,
                strengths=tuple(rows),
                aligned=prepared.face.image,
                mask=mask,
            )
        )
    if not measured:
        raise FeatError("No photos to measure the edit on: name at least one.")
    return EditMeasurement(
        name=name or edit.config.prompt, threshold=threshold, photos=tuple(measured), notice=session.notice
    )


def mask_overlay(image: Image.Image, mask: Image.Image, color: tuple[int, int, int] = (255, 40, 40)) -> Image.Image:
    """`image` with `mask` (an "L" image) tinted over it."""
    weights = _weights(mask, image.size)[..., None] * 0.6
    mixed = _pixels(image) * (1 - weights) + np.asarray(color, np.float32) * weights
    return Image.fromarray(mixed.round().clip(0, 255).astype(np.uint8), "RGB")


def contact_sheet(measurement: EditMeasurement, tile: int = 256) -> Image.Image:
    """One row per photo: the aligned photo, the edit at each strength, the mask over the photo; each
    tile captioned with its numbers, a title line with the edit's name, threshold and notice."""
    size = max(10, tile // 18)
    font = ImageFont.load_default(size=size)
    line = size + 4
    header, caption, pad = 2 * line + 8, 3 * line + 4, 6
    strengths = [s.strength for s in measurement.photos[0].strengths]
    columns = 2 + len(strengths)
    width = pad + columns * (tile + pad)
    height = header + len(measurement.photos) * (tile + caption + pad)
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    title = f"{measurement.name}: mask threshold {measurement.threshold:g}"
    draw.text((pad, 4), title, fill="black", font=font)
    if measurement.notice:
        notice = measurement.notice
        while notice and draw.textlength(notice + " ...", font=font) > width - 2 * pad:
            notice = notice[: notice.rfind(" ")] if " " in notice else ""
        if notice != measurement.notice:
            notice += " ..."
        draw.text((pad, 4 + line), notice, fill=(160, 0, 0), font=font)
    for row, photo in enumerate(measurement.photos):
        y = header + row * (tile + caption + pad)
        tiles = [(photo.aligned, [photo.photo, f"prepare {photo.prepare_seconds:.1f} s"])]
        for s in photo.strengths:
            # ASCII only: Pillow's built-in font has no Greek letters
            change = f"change in {s.change_inside:.1f} / out {s.change_outside:.2f}"
            tiles.append(
                (s.image, [f"strength {s.strength:g}", change, f"identity {s.identity:.3f}, {s.seconds:.2f} s"])
            )
        tiles.append((mask_overlay(photo.aligned, photo.mask), [f"mask {photo.mask_share:.1%} of the face"]))
        for col, (image, texts) in enumerate(tiles):
            x = pad + col * (tile + pad)
            sheet.paste(image.convert("RGB").resize((tile, tile), Image.Resampling.LANCZOS), (x, y))
            for i, text in enumerate(texts):
                draw.text((x, y + tile + 2 + i * line), text, fill="black", font=font)
    return sheet


__all__ = [
    "DEFAULT_STRENGTHS",
    "EditMeasurement",
    "PhotoMeasurement",
    "StrengthMeasurement",
    "contact_sheet",
    "mask_overlay",
    "measure_edit",
    "numbers_table",
    "sample_photos",
    "sample_photos_dir",
]
