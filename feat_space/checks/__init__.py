"""Checks that run the whole stack on real inputs and report what they find: `doctor` (the first day
with real weights: model files and pins, checkpoint layouts, reconstruction, edits, training balance,
CUDA) and the CUDA checks it shares with `benchmarks/gpu_check.py` (`cuda_ops`)."""
