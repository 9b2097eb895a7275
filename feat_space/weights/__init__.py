"""Where model weights come from: the models by role, their sources on the Hub and verified
downloads, the profiles that choose between them, and the tiny profile's locally built weights.

- `roles`: `ModelRole`, the models a session needs (generator, encoder, arcface, clip);
- `sources`: every pretrained file (Hub repo, file, commit, sha256), and which role each serves;
- `download`: `fetch` (download + sha256 check) and `hub_download`, the one call into huggingface_hub;
  `pins` resolves commits and digests and writes them into `pins.json` (`feat-space models pin`); `errors` says
  why a file could not be had;
- `settings`: the Hub's settings read at call time, and feat-space's own cache folder;
- `profiles`: `real` (the Hub) or `tiny` (`tiny`: small random models built here), by `FEAT_PROFILE`.
"""

from .download import UnpinnedSourceWarning, commit_of, fetch, file_sha256, hub_download
from .errors import ChecksumError, ModelAccessError, ModelDownloadError, ModelNotFoundError, ModelOfflineError
from .profiles import PROFILE_ENV, PROFILES, Profile, ProfileError, get_profile
from .roles import ROLES, ModelRole, model_role
from .settings import HubSettings, feat_cache_dir, hub_settings
from .sources import CLIP_MODEL_NAME, REAL_PROFILE, SOURCES, ModelSource, required_sources
from .tiny import TINY_NOTICE

__all__ = [
    "CLIP_MODEL_NAME",
    "PROFILES",
    "PROFILE_ENV",
    "REAL_PROFILE",
    "ROLES",
    "SOURCES",
    "TINY_NOTICE",
    "ChecksumError",
    "HubSettings",
    "ModelAccessError",
    "ModelDownloadError",
    "ModelNotFoundError",
    "ModelOfflineError",
    "ModelRole",
    "ModelSource",
    "Profile",
    "ProfileError",
    "UnpinnedSourceWarning",
    "commit_of",
    "feat_cache_dir",
    "fetch",
    "file_sha256",
    "get_profile",
    "hub_download",
    "hub_settings",
    "model_role",
    "required_sources",
]
