"""Training an edit from a text prompt: losses, the step loop with progress, checkpoints."""

from .settings import TrainingSettings
from .trainer import Trainer

__all__ = ["Trainer", "TrainingSettings"]
