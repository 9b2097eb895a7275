"""StyleCLIP's W+ groups: the one place that says which W+ entries are coarse, medium and fine.

Coarse = entries [0, 4) (styles of the 4²–8² layers), medium = [4, 8) (16²–32²), fine = the rest
(64² and up). The latent mapper has one MLP per group it touches; a recipe names the groups it maps.
"""

from __future__ import annotations

import itertools
from typing import Literal

Group = Literal["coarse", "medium", "fine"]
GROUPS: tuple[Group, ...] = ("coarse", "medium", "fine")
GROUP_BOUNDS = (4, 8)  # W+ entries where medium and fine begin


def group_span(group: Group, n_latent: int) -> tuple[int, int]:
    """W+ entries [start, end) of `group` in a generator with `n_latent` entries (empty if it has none)."""
    cuts = (0, *GROUP_BOUNDS, n_latent)
    i = GROUPS.index(group)
    return min(cuts[i], n_latent), min(cuts[i + 1], n_latent)


def split_by_group(start: int, end: int) -> list[tuple[int, int]]:
    """W+ entries [start, end) cut at the group bounds, empty pieces dropped."""
    cuts = [start, *[b for b in GROUP_BOUNDS if start < b < end], end]
    return list(itertools.pairwise(cuts))


__all__ = ["GROUPS", "GROUP_BOUNDS", "Group", "group_span", "split_by_group"]
