"""`edit`: apply edits to photos and clips, one or whole folders, from the command line.

feat-space edit portrait.jpg --edit smile
feat-space edit clip.mp4 --edit smile=1.2 --out edited/          # a clip: see `cli.edit_clips`
feat-space edit holiday/ more/ --edit smile=1.5 --edit blond-hair --threshold 0.3 --out edited/
feat-space edit portrait.jpg --edit trained/freckles          # an edit folder you trained

An edit is a registry name (``smile`` or ``registry:smile``) or a folder holding an edit
(``config.json`` + ``model.safetensors``, as `train` writes), optionally with ``=STRENGTH``. A file
that cannot be read, has no usable face, or whose result cannot be written, is reported and skipped:
the batch goes on, and a summary ends it. Results never replace files already in the output folder
(a new result gets a number, ``-edited-2``) unless ``--overwrite``. Exit status: 0 when every photo was
edited, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..editing.ranges import STRENGTH, THRESHOLD
from ..errors import FeatError
from .base import SubParsers, profile_of
from .edit_clips import SUFFIX as CLIP_SUFFIX
from .edit_clips import add_arguments as add_clip_arguments
from .edit_clips import edit_clips

if TYPE_CHECKING:
    from PIL import Image

    from ..editing.edit import FeatEdit
    from ..session import Session

OUT_DIR = Path("edited")  # default output folder (git-ignored)
REGISTRY = "registry:"
SUFFIX = "-edited"
# Formats that are photos but that Pillow may not list (a plugin is missing): reported, not passed over.
EXTRA_PHOTO_SUFFIXES = {".heic", ".heif", ".avif", ".eps"}


def register(subparsers: SubParsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "edit", parents=[common], help="edit photos and clips (files or folders) with registry edits or edit folders"
    )
    p.add_argument("photos", nargs="+", metavar="PHOTO_OR_CLIP", help="photos or clips, or folders of them")
    p.add_argument(
        "--edit",
        dest="edits",
        action="append",
        required=True,
        metavar="NAME[=STRENGTH]",
        help="a registry edit (smile, registry:smile) or an edit folder; repeat to compose edits in order",
    )
    p.add_argument(
        "--threshold",
        type=float,
        help=f"mask threshold from {THRESHOLD.low:g} to {THRESHOLD.high:g} "
        f"(default: the first registry edit's, else {THRESHOLD.default:g})",
    )
    p.add_argument("--face", type=int, default=0, help="which face, 0 = the largest (default 0)")
    p.add_argument("--out", type=Path, default=OUT_DIR, help=f"output folder (default: {OUT_DIR}/)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace results of earlier runs in the output folder (default: a new result gets a number)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs, scripts)")
    add_clip_arguments(p)
    p.set_defaults(handler=_edit)


@dataclass(frozen=True)
class EditSpec:
    """One ``--edit`` argument: what to load, and the strength asked for (None: the edit's default)."""

    source: str
    strength: float | None


def parse_edit(text: str) -> EditSpec:
    """``NAME[=STRENGTH]``: the last ``=`` splits off a strength when what follows is a number."""
    source, sep, tail = text.rpartition("=")
    if sep:
        try:
            strength = float(tail)
        except ValueError:
            pass  # a '=' inside a folder's name, not a strength
        else:
            return EditSpec(source, STRENGTH.check(strength, f"The strength in --edit {text}"))
    if not text.strip():
        raise FeatError("--edit needs an edit name or an edit folder, e.g. --edit smile=1.5.")
    return EditSpec(text, None)


@dataclass
class LoadedEdit:
    title: str
    edit: FeatEdit
    strength: float | None
    threshold: float | None  # the registry's suggested mask threshold, if it has one


def load_edit_spec(spec: EditSpec, session: Session) -> LoadedEdit:
    """A registry edit (published weights; the untrained demo in the tiny profile) or an edit folder."""
    from ..editing.storage import load_edit_folder
    from ..registry.demo import demo_edit
    from ..registry.registry import load_published_edit, load_registry

    folder = Path(spec.source)
    if not spec.source.startswith(REGISTRY) and (folder / "config.json").is_file():
        edit = load_edit_folder(folder)
        return LoadedEdit(folder.name, edit, spec.strength, None)
    name = spec.source.removeprefix(REGISTRY)
    entry = load_registry().get(name)
    if entry is None:
        if folder.exists():
            raise FeatError(f"{spec.source} is not an edit folder: it has no config.json (train writes one).")
        known = ", ".join(sorted(load_registry()))
        raise FeatError(f"There is no edit called {name!r}. Registry edits: {known}; or give an edit folder.")
    strength = entry.defaults.strength if spec.strength is None else spec.strength
    if entry.published:
        edit = load_published_edit(entry)
    elif not session.profile.trained:
        edit = demo_edit(entry, session.generator)
    else:
        raise FeatError(
            f"“{entry.title}” is not trained yet, so it cannot edit photos. Train it: "
            f"python -m feat_space train edits/{entry.name}.yaml, then pass the folder it writes to --edit."
        )
    return LoadedEdit(entry.title, edit.eval(), strength, entry.defaults.mask_threshold)


def photo_files(inputs: list[str]) -> tuple[list[Path], list[str]]:
    """The photos and clips to edit, in order (a folder's image and video files sorted by name), and
    inputs that do not exist."""
    from PIL import Image

    from ..video.clip_info import VIDEO_SUFFIXES

    suffixes = set(Image.registered_extensions()) | EXTRA_PHOTO_SUFFIXES | VIDEO_SUFFIXES
    found: list[Path] = []
    missing: list[str] = []
    for name in inputs:
        path = Path(name)
        if path.is_dir():
            found += sorted(
                p for p in path.iterdir() if p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith(".")
            )
        elif path.is_file():
            found.append(path)
        else:
            missing.append(name)
    return found, missing


def output_path(photo: Path, out: Path, taken: set[Path], overwrite: bool = False, suffix: str | None = None) -> Path:
    """``out/<name>-edited.<jpg|png>``: JPEGs stay JPEG, everything else becomes PNG (lossless), unless
    `suffix` says; a name already written in this run, or (unless `overwrite`) a file already there,
    gets a number."""
    if suffix is None:
        suffix = ".jpg" if photo.suffix.lower() in (".jpg", ".jpeg") else ".png"
    candidate = out / f"{photo.stem}{SUFFIX}{suffix}"
    number = 2
    while candidate in taken or (not overwrite and candidate.exists()):
        candidate = out / f"{photo.stem}{SUFFIX}-{number}{suffix}"
        number += 1
    taken.add(candidate)
    return candidate


def save(photo: Image.Image, path: Path) -> None:
    extra = {"icc_profile": photo.info["icc_profile"]} if photo.info.get("icc_profile") else {}
    if path.suffix == ".jpg":
        photo.save(path, quality=95, **extra)
    else:
        photo.save(path, **extra)


def check_threshold(threshold: float) -> None:
    THRESHOLD.check(threshold, "--threshold")


def _edit(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..session import Session, edit_photo

    specs = [parse_edit(text) for text in args.edits]
    if args.threshold is not None:  # checked before the models load (minutes with the real ones)
        check_threshold(args.threshold)
    photos, missing = photo_files(args.photos)
    for name in missing:
        print(f"skipped {name}: no such file or folder", file=sys.stderr)
    if not photos:
        print("No photos to edit: give photo or clip files, or folders that hold some.", file=sys.stderr)
        return 1
    from ..video.clip_info import VIDEO_SUFFIXES

    clips = [p for p in photos if p.suffix.lower() in VIDEO_SUFFIXES]
    photos = [p for p in photos if p.suffix.lower() not in VIDEO_SUFFIXES]
    session = Session(profile_of(args))
    if session.notice:
        print(session.notice, file=sys.stderr)
    loaded = [load_edit_spec(spec, session) for spec in specs]
    threshold = args.threshold
    if threshold is None:
        threshold = next((e.threshold for e in loaded if e.threshold is not None), THRESHOLD.default)
    check_threshold(threshold)
    chosen = [(e.edit, e.strength) for e in loaded]
    created = not args.out.exists()
    args.out.mkdir(parents=True, exist_ok=True)
    titles = ", ".join(e.title for e in loaded)

    edited = 0
    skipped: Counter[str] = Counter()
    taken: set[Path] = set()
    numbered: list[Path] = []  # written under a numbered name: the plain one was taken
    bar = tqdm(
        photos, desc=f"Editing ({titles})", unit="photo", disable=args.no_progress or not photos, file=sys.stderr
    )
    for photo in bar:
        try:
            result = edit_photo(session, photo, chosen, threshold=threshold, face_index=args.face)
        except FeatError as e:  # unreadable, no face, face too small, no such face: this photo only
            skipped[type(e).__name__] += 1
            bar.write(f"skipped {photo}: {e}", file=sys.stderr)
            continue
        target = output_path(photo, args.out, taken, args.overwrite)
        try:
            save(result.photo, target)
        except (OSError, ValueError) as e:  # disk full, folder gone, a format Pillow cannot write: this photo
            target.unlink(missing_ok=True)
            skipped["unsaved"] += 1
            bar.write(f"skipped {photo}: could not write {target}: {e}", file=sys.stderr)
            continue
        edited += 1
        if target.stem != f"{photo.stem}{SUFFIX}":
            numbered.append(target)
    bar.close()

    def clip_target(clip: Path) -> Path:
        return output_path(clip, args.out, taken, args.overwrite, suffix=CLIP_SUFFIX)

    edited += edit_clips(args, clips, session, chosen, threshold, clip_target, skipped)
    if created and not any(args.out.iterdir()):
        args.out.rmdir()  # nothing was written: leave nothing behind

    total = len(photos) + len(clips) + len(missing)
    files = "photo(s)" if not clips else "clip(s)" if not photos else "photo(s) and clip(s)"
    summary = f"Edited {edited} of {total} {files} into {args.out}/ ({titles}, mask threshold {threshold:g})."
    if numbered:
        summary += (
            f" {len(numbered)} got a numbered name (e.g. {numbered[0].name}) as theirs was taken; "
            "--overwrite replaces results of earlier runs."
        )
    problems = dict(skipped)
    if missing:
        problems["missing"] = len(missing)
    if problems:
        summary += " Skipped: " + ", ".join(f"{n} {_REASONS.get(k, k)}" for k, n in problems.items()) + "."
    print(summary)
    return 0 if edited == total else 1


_REASONS = {
    "NoFaceError": "without a face",
    "FaceTooSmallError": "with a face too small",
    "FaceIndexError": "without the face asked for (--face)",
    "ImageReadError": "unreadable",
    "ImageTooLargeError": "too large",
    "VideoReadError": "unreadable clips",
    "VideoTooLongError": "clips too long",
    "VideoTooLargeError": "clips too large",
    "missing": "missing",
    "unsaved": "not saved (could not write the result)",
}
