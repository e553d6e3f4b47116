"""The level-selector interface: pyramid state in, per-sample level mask out.

Every strategy (static rules now; the RL policy and NAS baselines later) is a
``LevelSelector``. The distiller calls it once per iteration with a
:class:`SelectionContext` and computes the distillation loss of a (sample, level)
pair only where the returned mask is non-zero.
"""
from __future__ import annotations

from abc import abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence

from mmengine.model import BaseModule
from torch import Tensor


@dataclass
class SelectionContext:
    """What a selector may look at.

    Attributes:
        student_feats: L tensors ``[B, C_l, H_l, W_l]`` (connectors not yet applied).
        teacher_feats: L tensors ``[B, C'_l, H_l, W_l]`` (no gradient).
        level_names: the L level names, e.g. ``('P2', 'P3', 'P4', 'P5')``.
        observed: what the selector's :meth:`LevelSelector.observe` caught during the
            student's forward pass (empty for static selectors).
    """

    student_feats: List[Tensor]
    teacher_feats: List[Tensor]
    level_names: Sequence[str]
    observed: Dict[str, object] = field(default_factory=dict)

    @property
    def batch_size(self) -> int:
        return self.student_feats[0].shape[0]


@dataclass
class Selection:
    """A selector's decision for one batch.

    Attributes:
        mask: ``[B, L]`` level weights; 0 drops the pair, 1 keeps it (soft values
            are allowed for continuous relaxations).
        log_prob: ``[B]`` log-probability of the sampled mask, for stochastic selectors.
        info: per-sample extras ``[B]`` a selector reports (e.g. ``used_cost``); the
            distiller attaches them to predictions for the evaluation metrics.
    """

    mask: Tensor
    log_prob: Optional[Tensor] = None
    info: Dict[str, Tensor] = field(default_factory=dict)


class LevelSelector(BaseModule):
    """Base class of level selectors. Subclasses implement :meth:`forward`.

    The distiller calls :meth:`bind` once it is built, so a selector can validate its
    config and size itself early, and wraps the student's forward pass in
    :meth:`observe`, so a selector can catch more than the pyramid.
    """

    level_names: Sequence[str] = ()
    #: whether predictions should carry this selector's (deterministic) decisions;
    #: costs a teacher forward pass at test time, so only learned selectors say yes.
    reports_selection: bool = False

    def bind(self, distiller) -> None:
        """Learn the pyramid (``distiller.level_names``, taps, ...) this selector serves."""
        self.level_names = tuple(distiller.level_names)

    @contextmanager
    def observe(self) -> Iterator[Dict[str, object]]:
        """Active during the student's forward pass; yields what it caught (nothing)."""
        yield {}

    @property
    def num_levels(self) -> int:
        return len(self.level_names)

    @abstractmethod
    def forward(self, context: SelectionContext) -> Selection:
        """Return the :class:`Selection` for ``context``."""
