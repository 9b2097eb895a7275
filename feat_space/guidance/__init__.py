"""Text guidance for editing, training and evaluation: CLIP via open_clip."""

from .clip import ClipGuide, ClipSpec, load_clip

__all__ = ["ClipGuide", "ClipSpec", "load_clip"]
