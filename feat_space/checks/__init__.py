"""Checks over the whole stack: running an edit on the sample photos and measuring it (`edit_sheet`),
for `edits verify` and `doctor`; the doctor (`doctor`: model files and pins, checkpoint layouts,
reconstruction, edits, training balance, CUDA) and the CUDA checks it shares with
`benchmarks/gpu_check.py` (`cuda_ops`)."""

from .edit_sheet import (
    DEFAULT_STRENGTHS,
    EditMeasurement,
    PhotoMeasurement,
    StrengthMeasurement,
    contact_sheet,
    measure_edit,
    sample_photos,
)

__all__ = [
    "DEFAULT_STRENGTHS",
    "EditMeasurement",
    "PhotoMeasurement",
    "StrengthMeasurement",
    "contact_sheet",
    "measure_edit",
    "sample_photos",
]
