"""Errors a user can cause, each with a message a person can act on."""


def first_line(error: BaseException) -> str:
    """The first non-empty line of an exception's message (library errors can run to pages)."""
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    return lines[0].rstrip(".") if lines else type(error).__name__


class FeatError(Exception):
    """Base class of every error caused by user input (files, photos, settings)."""


class CheckpointError(FeatError):
    """A weights file is missing, unreadable, untrusted or of an unexpected layout."""


class NoFaceError(FeatError):
    """No face was found in a photo."""


class ImageReadError(FeatError):
    """An upload is not a readable image: not an image at all, truncated, or of an unsupported kind."""


class ImageTooLargeError(ImageReadError):
    """An image has more pixels than Pillow's decompression-bomb guard allows."""


class FaceTooSmallError(FeatError):
    """The face found is too small to be edited at the generator's resolution."""


class FaceIndexError(FeatError, IndexError):
    """A face was asked for by an index that the photo does not have."""


class VideoReadError(FeatError):
    """An upload is not a readable video: not a video at all, truncated or corrupt, or sound only."""


class VideoTooLongError(FeatError):
    """A clip is longer than the length allowed here."""


class VideoTooLargeError(FeatError):
    """A clip's frames have more pixels than are accepted."""
