"""The level-selector interface: pyramid state in, per-sample level mask out.

Every strategy (static rules now; the RL policy and NAS baselines later) is a
``LevelSelector``. The distiller calls it once per iteration with a
:class:`SelectionContext` and computes the distillation loss of a (sample, level)
pair only where the returned mask is non-zero.
"""
from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import List, Optional, Sequence

from mmengine.model import BaseModule
from torch import Tensor


@dataclass
class SelectionContext:
    """What a selector may look at.

    Attributes:
        student_feats: L tensors ``[B, C_l, H_l, W_l]`` (connectors not yet applied).
        teacher_feats: L tensors ``[B, C'_l, H_l, W_l]`` (no gradient).
        level_names: the L level names, e.g. ``('P2', 'P3', 'P4', 'P5')``.
    """

    student_feats: List[Tensor]
    teacher_feats: List[Tensor]
    level_names: Sequence[str]

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
    """

    mask: Tensor
    log_prob: Optional[Tensor] = None


class LevelSelector(BaseModule):
    """Base class of level selectors. Subclasses implement :meth:`forward`.

    The distiller calls :meth:`bind` with the pyramid's level names before the
    first forward pass, so a selector can validate its config early.
    """

    level_names: Sequence[str] = ()

    def bind(self, level_names: Sequence[str]) -> None:
        """Learn the level names of the pyramid this selector serves."""
        self.level_names = tuple(level_names)

    @property
    def num_levels(self) -> int:
        return len(self.level_names)

    @abstractmethod
    def forward(self, context: SelectionContext) -> Selection:
        """Return the :class:`Selection` for ``context``."""
