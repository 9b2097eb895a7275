"""MediaPipe's own C++ logs (absl, TensorFlow Lite): shown, or kept off a person's terminal.

MediaPipe's graphs log from C++ straight to file descriptor 2 (``W0000 ...
inference_feedback_manager.cc:114] ...``, ``landmark_projection_calculator.cc ...``, "Created
TensorFlow Lite XNNPACK delegate"): Python's `logging` and `warnings` never see those lines, and
absl's C++ log level cannot be set from Python or the environment in mediapipe 0.10.21. Quieted
(`quiet_native_logs`, what the command line does unless ``--verbose``), descriptor 2 is pointed at a
temporary file while a graph is built or run, and what it caught goes to the ``feat_space.native``
logger at DEBUG. The app leaves them on: its server log is for whoever runs it, and other threads
write to descriptor 2 meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator

log = logging.getLogger("feat_space.native")
_quiet = False


def quiet_native_logs(quiet: bool = True) -> None:
    """Keep MediaPipe's C++ logs off descriptor 2 from now on (or, `quiet=False`, let them through)."""
    global _quiet
    _quiet = quiet


@contextlib.contextmanager
def native_logs() -> Iterator[None]:
    """Around a MediaPipe call: when quieted, what C++ writes to descriptor 2 meanwhile is caught and
    logged at DEBUG instead. Not reentrant; callers hold the MediaPipe lock."""
    if not _quiet:
        yield
        return
    sys.stderr.flush()  # Python's own buffered text goes out before the descriptor moves
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            for line in sink.read().decode(errors="replace").splitlines():
                log.debug("%s", line)


__all__ = ["native_logs", "quiet_native_logs"]
