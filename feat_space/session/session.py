"""The model session: one set of models per process, shared by every request, and per-photo caching.

Concurrency (Gradio runs handlers in threads):

- Loading: each model is loaded on first use, exactly once, under its own lock (double-checked), so
  concurrent first requests wait for one load instead of loading twice.
- Inference: the models are only read (eval mode, frozen), so concurrent forwards would be safe; the
  session still lets at most `max_concurrent` (default 1) run at a time, because on a 2-core CPU or
  one GPU parallel forwards only split the same compute while multiplying peak memory. Alignment has
  its own lock (MediaPipe is not thread-safe) and runs outside this limit.
- Per-photo work (alignment, e4e inversion, the original latent's features and states) is cached by
  the photo's pixels in a bounded LRU (`cache_size` photos); concurrent requests for one photo run it
  once. Cached tensors are shared: treat them as read-only.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import torch

from .. import env
from ..editing.render import deepest_before, original_pass
from ..errors import FeatError
from ..guidance.clip import ClipGuide, load_clip
from ..models import Encoder4Editing, Generator, IRSE50ArcFace, load_arcface, load_encoder, load_generator
from ..models.stylegan2 import SynthesisState
from ..weights.profiles import Profile, get_profile
from ..weights.roles import ROLES, ModelRole, model_role
from .cache import CacheInfo, ComputeOnceCache
from .photo import AlignOptions, MemoKey, PreparedPhoto, image_to_tensor, photo_key, resize_image
from .precision import Precision, pick_precision

if TYPE_CHECKING:
    from ..alignment import AlignedFace

T = TypeVar("T")
M = TypeVar("M", bound=torch.nn.Module)
DEVICE_ENV = env.DEVICE.name
DEFAULT_CACHE_SIZE = 8  # photos; one holds W+, a few feature maps and states (tens of MB at 1024²)
# A reconstruction rendered before any edit keeps the original's states up to this resolution: the
# region presets blend at 64² or lower, so their first edit then finds its original pass done.
SHARED_RESOLUTION = 64


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """`device`, else FEAT_DEVICE, else CUDA when available, else the CPU."""
    choice = device or env.DEVICE.get()
    if choice:
        chosen = torch.device(choice)
        if chosen.type == "cuda" and not torch.cuda.is_available():
            raise FeatError(f"Device {chosen} was asked for ({DEVICE_ENV} or device=), but CUDA is not available here.")
        return chosen
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Session:
    """Lazily loaded models of one profile on one device, and the pipeline steps that use them.

    align → invert → synthesize, with feature and state access for FEAT's blending; `prepare` runs
    the per-photo part once per photo (cached).
    """

    def __init__(
        self,
        profile: Profile | str | None = None,
        *,
        device: str | torch.device | None = None,
        cache_size: int = DEFAULT_CACHE_SIZE,
        max_concurrent: int = 1,
        models: Mapping[str, Any] | None = None,
        precision: str | None = None,
    ) -> None:
        """`models` may hand in already built models by name (e.g. a benchmark's); the profile supplies the rest.
        `precision`: auto | fp32 | bf16 | fp16, else FEAT_PRECISION, else auto (see `session.precision`)."""
        self.profile = profile if isinstance(profile, Profile) else get_profile(profile)
        self.device = pick_device(device)
        self._precision_choice = precision
        self._precision: Precision | None = None
        self._inference_ready: set[ModelRole] = set()
        self.photos: ComputeOnceCache[PreparedPhoto] = ComputeOnceCache(cache_size)
        self._models: dict[ModelRole, Any] = {}
        self._handed_in = {model_role(name) for name in models or {}}
        for name, model in (models or {}).items():
            role = model_role(name)
            self._models[role] = model.to(self.device) if role is ModelRole.CLIP else _frozen(model, self.device)
        self._load_locks = {role: threading.Lock() for role in ROLES}
        self._running = threading.BoundedSemaphore(max_concurrent)

    def __repr__(self) -> str:
        loaded = ", ".join(role.value for role in self._models) or "none"
        precision = self._precision.name if self._precision else f"{self._precision_choice or 'auto'}, not yet checked"
        return f"Session(profile={self.profile.name!r}, device={self.device}, precision={precision}, loaded: {loaded})"

    @property
    def precision(self) -> Precision:
        """The inference precision (resolved, and self-checked, on first use; once per process and device)."""
        if self._precision is None:
            self._precision = pick_precision(self._precision_choice, self.device)
        return self._precision

    @property
    def dtype(self) -> torch.dtype:
        """The dtype synthesis features and the encoder run in (the generator's parameters stay fp32)."""
        return self.precision.dtype

    def describe(self) -> str:
        """Device and precision, for people: e.g. "cpu · bf16 (auto: native bf16 CPU, self-check passed, …)"."""
        return f"{self.device} · {self.precision}"

    @property
    def notice(self) -> str | None:
        """What a person must be told wherever this session's output is shown (tiny: untrained models)."""
        return self.profile.notice

    # -- models, each loaded once ---------------------------------------------------------------

    def _model(self, role: ModelRole, load: Callable[[], T]) -> T:
        model = self._models.get(role)
        if model is None:
            with self._load_locks[role]:
                model = self._models.get(role)
                if model is None:
                    model = load()
                    self._models[role] = model
        return model

    def _frozen_file(self, role: ModelRole, load: Callable[[Path], M]) -> M:
        return self._model(role, lambda: _frozen(load(self.profile.model_file(role)), self.device))

    @property
    def generator(self) -> Generator:
        return self._frozen_file(ModelRole.GENERATOR, load_generator)

    @property
    def encoder(self) -> Encoder4Editing:
        """The e4e encoder, in the session's precision (it only ever runs inference; it takes fp32
        images and returns fp32 W+ whatever its weights' dtype)."""
        encoder = self._frozen_file(ModelRole.ENCODER, load_encoder)
        if ModelRole.ENCODER not in self._inference_ready:
            with self._load_locks[ModelRole.ENCODER]:
                if ModelRole.ENCODER not in self._inference_ready:
                    if self.dtype != torch.float32 and ModelRole.ENCODER in self._handed_in:
                        # The caller's model stays theirs (e.g. shared with an fp32 session): convert a copy.
                        encoder = self._models[ModelRole.ENCODER] = copy.deepcopy(encoder)
                    encoder.to_precision(self.dtype)
                    self._inference_ready.add(ModelRole.ENCODER)
        return self._models[ModelRole.ENCODER]  # the converted one, also for a thread that waited above

    @property
    def arcface(self) -> IRSE50ArcFace:
        return self._frozen_file(ModelRole.ARCFACE, load_arcface)

    @property
    def clip(self) -> ClipGuide:
        return self._model(ModelRole.CLIP, lambda: load_clip(self.profile.clip_spec(), self.device))

    def load(self, names: Iterable[ModelRole | str] = ROLES) -> None:
        """Load models now rather than on first use (e.g. at app start-up)."""
        for name in names:
            getattr(self, model_role(name).value)

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """A slot to run a forward pass in (see the module docstring), with gradients off."""
        with self._running, torch.no_grad():
            yield

    # -- pipeline steps --------------------------------------------------------------------------

    def align(self, image: Any, *, face_index: int = 0) -> AlignedFace:
        """FFHQ-align one face of a photo (anything `load_image` reads) → `AlignedFace`."""
        from ..alignment import align_face

        return align_face(image, face_index=face_index, size=self.generator_size)

    @property
    def generator_size(self) -> int:
        return self.generator.size

    def invert(self, face: AlignedFace | Any) -> torch.Tensor:
        """e4e inversion of an aligned face (`AlignedFace` or a PIL crop) → W+ [1, n_latent, 512]."""
        from ..alignment import AlignedFace

        crop = face.encoder_input() if isinstance(face, AlignedFace) else face.resize((256, 256))
        x = image_to_tensor(crop).to(self.device)
        encoder = self.encoder
        with self.running():
            return encoder(x)

    def synthesize(self, wplus: torch.Tensor) -> torch.Tensor:
        """W+ → image [B, 3, size, size] in about [-1, 1] (fixed noise; features in the session's precision)."""
        generator = self.generator
        with self.running():
            return generator.synthesis(wplus.to(self.device), dtype=self.dtype)

    def prepare(self, image: Any, *, face_index: int = 0) -> PreparedPhoto:
        """Align and invert a photo, once per photo content and options (cached, see `photos`)."""
        from ..image_input import load_image

        photo = load_image(image)  # upright RGB: the key must not depend on the file's encoding
        options = AlignOptions(face_index=face_index)
        key = photo_key(photo, options)

        def compute() -> PreparedPhoto:
            face = self.align(photo, face_index=face_index)
            return PreparedPhoto(key=key, face=face, wplus=self.invert(face))

        return self.photos.get(key, compute)

    def stages(self, photo: PreparedPhoto) -> PhotoStages:
        """The renderer's stages for `photo` (`editing.render`): its original pass cached with it."""
        return PhotoStages(self, photo)

    def original_pass(
        self, photo: PreparedPhoto, layers: Iterable[int], keep: Iterable[int]
    ) -> tuple[dict[int, torch.Tensor], dict[int, SynthesisState]]:
        """The photo's own latent: feature maps at `layers` and synthesis states after each layer of
        `keep`, each computed once per photo: what is missing in one pass, continued from the deepest
        state already cached before it (a reconstruction keeps the low-resolution ones)."""
        layers, keep = tuple(sorted(set(layers))), tuple(sorted(set(keep)))
        features_key = MemoKey("features", layers)
        cached = self._original_states(photo)
        if layers and not photo.cached(features_key) and all(k in cached for k in layers):
            photo.remember(features_key, {k: cached[k].feature for k in layers})
        need_features = bool(layers) and not photo.cached(features_key)
        missing_states = [k for k in keep if k not in cached]
        missing = missing_states + (list(layers) if need_features else [])
        if missing:
            start = deepest_before(cached, min(missing) - 1)
            generator = self.generator
            with self.running():
                features, states = original_pass(
                    generator, photo.wplus, layers if need_features else (), missing_states, self.dtype, start
                )
            if need_features:
                photo.remember(features_key, features)
            for k, state in states.items():
                photo.remember(MemoKey("state", k), state)
        return (
            photo.memo(features_key, lambda: {}) if layers else {},
            {k: photo.memo(MemoKey("state", k), lambda: None) for k in keep},
        )

    def _original_states(self, photo: PreparedPhoto) -> dict[int, SynthesisState]:
        """The original latent's synthesis states cached for `photo`, by layer."""
        keys = [k for k in photo.memoised() if k.kind == "state"]
        return {cast(int, k.of): photo.memo(k, lambda: None) for k in keys}

    def original_image(self, photo: PreparedPhoto, layer: int) -> torch.Tensor:
        """The RGB the photo's own latent has accumulated after `layer` (`Generator.rgb_layer` of it)
        [1, 3, r, r] (r = its resolution; the last layer gives the full image), continued from the
        deepest state already cached; once."""
        generator = self.generator
        layer = generator.rgb_layer(layer)
        key = MemoKey("image", layer)
        if not photo.cached(key):
            # Computed outside the photo's lock: the order is always the running slot, then the photo.
            start = deepest_before(self._original_states(photo), layer)
            if start is None:  # run the low-resolution layers as an edit's original pass would, and keep them
                shared = min(layer, generator.layer_at(SHARED_RESOLUTION))
                states = self.original_pass(photo, (), range(shared + 1))[1]
                start = states[max(states)]
            with self.running():
                state = generator.continue_to(start, photo.wplus, layer)
            photo.remember(key, state.skip.contiguous())
        return photo.memo(key, lambda: None)

    def reconstruction(self, photo: PreparedPhoto, size: int | None = None) -> torch.Tensor:
        """The photo's inversion rendered by the generator, [1, 3, size, size] (default: the generator's
        size); computed once per size, from the original's cached states (an edit's pass is shared).

        A smaller `size` costs less: the RGB the generator has accumulated at that resolution (its
        later layers add fine detail only), resized when `size` is not a power of two.
        """
        generator = self.generator
        size = generator.size if size is None else int(size)
        if not 4 <= size <= generator.size:
            raise FeatError(f"The reconstruction's size must be in [4, {generator.size}], got {size}.")
        image = self.original_image(photo, generator.layer_at(size))
        return image if image.shape[-1] == size else resize_image(image, size)

    def cache_info(self) -> CacheInfo:
        return self.photos.info()


@dataclass(frozen=True)
class PhotoStages:
    """The renderer's stages (`editing.render.Stages`) for a prepared photo: the original pass from
    the session's per-photo cache, each later stage kept as the photo's latest (`PreparedPhoto.latest`),
    the edit's own stages run in the session's inference slot."""

    session: Session
    photo: PreparedPhoto

    def original_pass(
        self, layers: tuple[int, ...], keep: tuple[int, ...]
    ) -> tuple[dict[int, torch.Tensor], dict[int, SynthesisState]]:
        return self.session.original_pass(self.photo, layers, keep)

    def original_image(self, layer: int) -> torch.Tensor:
        return self.session.original_image(self.photo, layer)

    def latest(self, slot: str, key: Hashable, compute: Callable[[], T]) -> T:
        return self.photo.latest(slot, key, compute)

    def running(self) -> contextlib.AbstractContextManager[None]:
        return self.session.running()


def _frozen(model: M, device: torch.device) -> M:
    return model.to(device).eval().requires_grad_(False)


_session: Session | None = None
_session_lock = threading.Lock()


def get_session() -> Session:
    """The process's session (created on first call with FEAT_PROFILE / FEAT_DEVICE; models load lazily)."""
    global _session
    if _session is None:
        with _session_lock:
            if _session is None:
                _session = Session()
    return _session


def set_session(session: Session | None) -> None:
    """Replace the process's session (tests, or an app built with explicit settings)."""
    global _session
    with _session_lock:
        _session = session


__all__ = ["DEFAULT_CACHE_SIZE", "PhotoStages", "Session", "get_session", "pick_device", "set_session"]
