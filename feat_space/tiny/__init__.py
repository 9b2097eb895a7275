"""The `tiny` profile's models: small, deterministic, untrained, built locally in about a second.

For tests and offline smoke runs of the whole pipeline. Their outputs are meaningless, and everything
shown to a person in this profile says so (`TINY_NOTICE`).
"""

from .weights import CLIP_MODEL_NAME, FILES, SEED, TinyFiles, tiny_files, write_tiny_weights

TINY_NOTICE = (
    "Tiny profile (FEAT_PROFILE=tiny): every model here is UNTRAINED, with random weights, for tests and "
    "offline smoke runs. The pictures it produces are meaningless noise, not edits of your photo."
)

__all__ = ["CLIP_MODEL_NAME", "FILES", "SEED", "TINY_NOTICE", "TinyFiles", "tiny_files", "write_tiny_weights"]
