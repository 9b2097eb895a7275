"""The shared model session (one per process), the per-photo cache that edits start from, and
editing a user's photo with it (`edit_photo`)."""

from .cache import CacheInfo, ComputeOnceCache
from .photo import AlignOptions, MemoKey, PreparedPhoto, image_to_tensor, photo_key, resize_image, tensor_to_image
from .photo_edit import PREVIEW_SIZE, Brush, EditResult, edit_photo
from .session import DEFAULT_CACHE_SIZE, Session, get_session, pick_device, set_session

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "PREVIEW_SIZE",
    "AlignOptions",
    "Brush",
    "CacheInfo",
    "ComputeOnceCache",
    "EditResult",
    "MemoKey",
    "PreparedPhoto",
    "Session",
    "edit_photo",
    "get_session",
    "image_to_tensor",
    "photo_key",
    "pick_device",
    "resize_image",
    "set_session",
    "tensor_to_image",
]
