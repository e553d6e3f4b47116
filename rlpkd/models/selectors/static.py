"""Static selectors: the same levels for every sample."""
from __future__ import annotations

import json
import logging
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

import torch
from mmengine.logging import print_log

from rlpkd.registry import MODELS

from .base import LevelSelector, Selection, SelectionContext


class StaticSelector(LevelSelector):
    """Keeps the levels named by :meth:`level_weights` for every sample, with those
    weights (the mask ``[B, L]`` is the same for every sample)."""

    def level_weights(self) -> Dict[str, float]:
        """``{level name: weight}`` of the kept levels (the others get 0)."""
        raise NotImplementedError

    def bind(self, distiller) -> None:
        super().bind(distiller)
        weights = self.level_weights()
        keep = torch.tensor([float(weights.get(name, 0.0)) for name in self.level_names])
        self.register_buffer('keep', keep, persistent=False)

    def forward(self, context: SelectionContext) -> Selection:
        return Selection(mask=self.keep.expand(context.batch_size, -1))


@MODELS.register_module()
class UniformSelector(StaticSelector):
    """Distil every level of every sample with equal weight (classic pyramid KD)."""

    def level_weights(self) -> Dict[str, float]:
        return {name: 1.0 for name in self.level_names}


def read_search_result(path: str) -> Tuple[Tuple[str, ...], Optional[Dict[str, float]]]:
    """``(levels, level_weights or None)`` of a search's ``search_result.json``
    (:class:`rlpkd.engine.loops.HeldOutSearchLoop`); errors name
    ``model.selector.levels_from``."""
    key = f'`model.selector.levels_from` ({path})'
    if not osp.isfile(path):
        raise FileNotFoundError(f'{key}: no such file; run the search first (it writes '
                                'work_dir/search_result.json), or point the option at its '
                                'result (--cfg-options model.selector.levels_from=...)')
    try:
        with open(path) as f:
            result = json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f'{key}: not a JSON file ({err})') from None
    levels = result.get('levels') if isinstance(result, dict) else None
    if not isinstance(levels, list) or not all(isinstance(n, str) for n in levels):
        raise ValueError(f'{key} has no `levels` list of level names; a '
                         'search_result.json has one')
    if not levels:  # a search may find that distilling no level scores best
        print_log(f'{key}: the search kept no level; the student trains without '
                  'distillation (the teacher still runs)', logger='current',
                  level=logging.WARNING)
    weights = result.get('level_weights')
    if weights is not None:
        weights = {name: float(weights[name]) for name in levels if name in weights}
        if set(weights) != set(levels) or min(weights.values(), default=1.0) <= 0:
            raise ValueError(f'{key}: `level_weights` must give every level of `levels` '
                             f'({levels}) a positive weight, got {result["level_weights"]}')
    return tuple(levels), weights


@MODELS.register_module()
class FixedSelector(StaticSelector):
    """Distil a fixed subset of levels for every sample.

    Args:
        levels: names of the kept levels, e.g. ``('P3', 'P5')``.
        levels_from: instead of ``levels``, the ``search_result.json`` of a NAS search
            (DARTS-LS, GDAS-LS, EA-LS): its ``levels`` are kept; where it also has
            ``level_weights`` (EA-LS searches per-level loss weights) each kept level is
            distilled with its weight. Read when the model is built. A result that keeps
            no level (EA-LS may find that distilling nothing scores best) is retrained
            without distillation, with a warning.
    """

    def __init__(self, levels: Optional[Sequence[str]] = None,
                 levels_from: Optional[str] = None) -> None:
        super().__init__()
        if (levels is None) == (levels_from is None):
            raise ValueError('`model.selector` (FixedSelector) needs exactly one of '
                             '`levels` (level names) or `levels_from` (a search_result.json)')
        self.levels_from = levels_from
        self.weights: Optional[Dict[str, float]] = None
        if levels_from is not None:
            levels, self.weights = read_search_result(str(levels_from))
            print_log(f'FixedSelector: levels {list(levels)} (weights {self.weights}) from '
                      f'{levels_from}', logger='current')
        elif isinstance(levels, str) or not levels:
            raise ValueError('`model.selector.levels` must be a non-empty list of level names')
        self.levels = tuple(levels)

    def level_weights(self) -> Dict[str, float]:
        unknown = [name for name in self.levels if name not in self.level_names]
        if unknown:
            key = '`model.selector.levels`' if self.levels_from is None else \
                f'`model.selector.levels_from` ({self.levels_from})'
            raise KeyError(f'{key}: unknown level(s) {unknown}; the pyramid has '
                           f'{list(self.level_names)}')
        return {name: (self.weights or {}).get(name, 1.0) for name in self.levels}
