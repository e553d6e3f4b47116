"""Static selectors: the same levels for every sample."""
from __future__ import annotations

from typing import Sequence

import torch

from rlpkd.registry import MODELS

from .base import LevelSelector, Selection, SelectionContext


class StaticSelector(LevelSelector):
    """Keeps the levels named by :meth:`kept_levels` for every sample."""

    def kept_levels(self) -> Sequence[str]:
        raise NotImplementedError

    def bind(self, distiller) -> None:
        super().bind(distiller)
        kept = set(self.kept_levels())
        keep = torch.tensor([float(name in kept) for name in self.level_names])
        self.register_buffer('keep', keep, persistent=False)

    def forward(self, context: SelectionContext) -> Selection:
        return Selection(mask=self.keep.expand(context.batch_size, -1))


@MODELS.register_module()
class UniformSelector(StaticSelector):
    """Distil every level of every sample with equal weight (classic pyramid KD)."""

    def kept_levels(self) -> Sequence[str]:
        return self.level_names


@MODELS.register_module()
class FixedSelector(StaticSelector):
    """Distil a fixed subset of levels for every sample.

    Args:
        levels: names of the kept levels, e.g. ``('P3', 'P5')``.
    """

    def __init__(self, levels: Sequence[str]) -> None:
        super().__init__()
        if isinstance(levels, str) or not levels:
            raise ValueError('`selector.levels` must be a non-empty list of level names')
        self.levels = tuple(levels)

    def kept_levels(self) -> Sequence[str]:
        unknown = [name for name in self.levels if name not in self.level_names]
        if unknown:
            raise KeyError(f'`selector.levels`: unknown level(s) {unknown}; the pyramid has '
                           f'{list(self.level_names)}')
        return self.levels
