"""Face alignment (MediaPipe landmarks, FFHQ crop) and paste-back into the original photo.

```python
face = align_face("photo.jpg")  # largest face; face_index=1 for the next one
face.image  # 1024² FFHQ-aligned crop, face.encoder_input() its 256² version
result = face.paste_back(edited_1024)  # the whole photo, only the face region changed
```

Modules: `landmarks` (MediaPipe FaceMesh and the mapping to FFHQ's eye and mouth points), `ffhq`
(FFHQ's quad and crop), `paste_back` (the way back), `align` (`align_face`, `AlignedFace`).
"""

from feat_space.alignment.align import MIN_FACE_SIZE, AlignedFace, align_face, detect_faces
from feat_space.alignment.ffhq import align_crop, ffhq_quad, square_to_quad
from feat_space.alignment.landmarks import FFHQ_POINTS, FaceLandmarks, ffhq_points
from feat_space.alignment.paste_back import face_mask, paste_back

__all__ = [
    "FFHQ_POINTS",
    "MIN_FACE_SIZE",
    "AlignedFace",
    "FaceLandmarks",
    "align_crop",
    "align_face",
    "detect_faces",
    "face_mask",
    "ffhq_points",
    "ffhq_quad",
    "paste_back",
    "square_to_quad",
]
