"""Frozen networks FEAT stands on: StyleGAN2, the e4e encoder and IR-SE50 ArcFace.

The modules are pure `nn.Module`s; `loading` reads the official checkpoint files into them.
"""

from .arcface import IRSE50ArcFace
from .e4e import Encoder4Editing
from .loading import load_arcface, load_encoder, load_generator
from .stylegan2 import Generator

__all__ = ["Encoder4Editing", "Generator", "IRSE50ArcFace", "load_arcface", "load_encoder", "load_generator"]
