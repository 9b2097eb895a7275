"""Checks over the whole stack: running an edit on the sample photos and measuring it (`edit_sheet`),
for `edits verify` (`verify`) and `doctor`; the doctor (`doctor`: model files and pins, checkpoint layouts,
reconstruction, edits, training balance, CUDA) and the CUDA checks it shares with
`benchmarks/gpu_check.py` (`cuda_ops`). The package re-exports `edit_sheet`'s names."""

from .edit_sheet import *  # noqa: F403 (the re-export: edit_sheet's __all__ is the one list)
from .edit_sheet import __all__ as __all__
