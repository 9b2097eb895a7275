"""feat-space: text-driven local face editing after FEAT (Hou et al., 2022)."""

__version__ = "0.1.0"
