"""Editing a face through a video clip (PyAV decoding and encoding, face tracking, temporal smoothing).

```python
from feat_space.video import edit_video
result = edit_video(session, "clip.mp4", [(smile, 1.2)], "clip-edited.mp4")
print(result.summary())  # frames edited, frames without the face passed through
```

Modules: `clip_info` (probe and limits), `decoding` / `encoding` (frames in, H.264 MP4 with the sound
out), `one_euro` (the filter), `tracking` (the same face through the clip, steadied alignment),
`frame_batch` (batched, steadied FEAT edits of aligned faces), `clip_edit` (`edit_video`, the streaming pipeline).
"""

from .clip_edit import DEFAULT_BATCH, Steadiness, VideoResult, edit_video
from .clip_info import MAX_PIXELS, VIDEO_SUFFIXES, ClipInfo, probe_clip
from .one_euro import OneEuroFilter, Smoothing

__all__ = [
    "DEFAULT_BATCH",
    "MAX_PIXELS",
    "VIDEO_SUFFIXES",
    "ClipInfo",
    "OneEuroFilter",
    "Smoothing",
    "Steadiness",
    "VideoResult",
    "edit_video",
    "probe_clip",
]
