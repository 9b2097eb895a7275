"""Errors a user can cause, each with a message a person can act on."""


class FeatError(Exception):
    """Base class of every error caused by user input (files, photos, settings)."""


class CheckpointError(FeatError):
    """A weights file is missing, unreadable, untrusted or of an unexpected layout."""


class NoFaceError(FeatError):
    """No face was found in a photo."""
