"""What every tab shares: the model session, the edit catalogue, visitors' state, and limits."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import gradio as gr

from .. import env
from ..registry.schema import EditEntry
from ..session import Session
from ..training.settings import DEFAULT_STEPS
from ..weights.roles import ModelRole, model_role
from .catalogue import Catalogue
from .state import Visitors

GPU = "gpu"  # the concurrency group of every handler that runs the models (edits and training)


@dataclass(frozen=True)
class Limits:
    """Queue and work limits, from the environment (a Space sets them to fit its hardware)."""

    gpu_slots: int = field(default_factory=env.GPU_CONCURRENCY.integer)
    queue_size: int = field(default_factory=env.QUEUE_SIZE.integer)
    trainings: int = field(default_factory=env.MAX_TRAININGS.integer)
    max_steps: int = field(default_factory=lambda: env.MAX_TRAIN_STEPS.integer(DEFAULT_STEPS))


class AppContext:
    def __init__(self, session: Session, registry: dict[str, EditEntry], limits: Limits | None = None) -> None:
        self.session = session
        self.registry = registry
        self.limits = limits or Limits()
        self.catalogue = Catalogue(session, registry)
        self.visitors = Visitors()
        # Trainings run one step after another for minutes; capped so editing stays responsive.
        self.training_slots = threading.BoundedSemaphore(self.limits.trainings)
        self._ready: set[ModelRole] = set()
        self._ready_lock = threading.Lock()

    @property
    def notice(self) -> str | None:
        return self.session.notice

    def ensure_models(self, roles: tuple[ModelRole | str, ...], progress: gr.Progress | None = None) -> None:
        """Load `names` (downloading them on first use in the real profile), reporting each with progress.

        The session loads each model once under its own lock; this only decides what to announce.
        """
        for i, name in enumerate(roles):
            role = model_role(name)
            if role in self._ready:
                continue
            if progress is not None:
                fetch = " (downloading it on first use)" if self.session.profile.trained else ""
                progress(i / len(roles), desc=f"Loading the {role.label}{fetch}")
            self.session.load([role])
            with self._ready_lock:
                self._ready.add(role)
