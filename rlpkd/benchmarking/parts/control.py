"""A benchmark control (not the method's code path): RL-PyramidKD's schedule, no policy.

:class:`CurriculumSelector` keeps every level in the phases the phase loop runs in
``'uniform'`` mode (RL-PyramidKD's warm-up) and a fixed subset in the others — the
subset the learned policy ends on. Trained with RL-PyramidKD's phase schedule, it
separates what the schedule gives from what the per-sample policy gives. Registered by
``custom_imports=dict(imports=['rlpkd.benchmarking.parts'])``
(``benchmarks/toy_detection_seeds.py``).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from rlpkd.models.selectors import FixedSelector, LearnedSelector, Selection, SelectionContext
from rlpkd.registry import MODELS


@MODELS.register_module()
class CurriculumSelector(LearnedSelector):
    """Every level in ``'uniform'`` mode (training), ``levels`` otherwise and at test.

    Args:
        levels: the kept levels after the uniform phases, e.g. ``('P3', 'P4', 'P5')``.
    """

    modes = ('uniform', 'sample')

    def __init__(self, levels: Sequence[str]) -> None:
        super().__init__()
        self.fixed = FixedSelector(levels=levels)
        self.nothing = nn.Module()  # no parameters: nothing for a learner to update

    def bind(self, pair) -> None:
        super().bind(pair)
        self.fixed.bind(pair)

    def forward(self, context: SelectionContext) -> Selection:
        if self.training and self.mode == 'uniform':
            feats = context.student_feats
            return Selection(mask=torch.ones(feats[0].shape[0], len(feats),
                                             device=feats[0].device))
        return self.fixed(context)

    def collect_experience(self):
        return None

    def learnable(self) -> nn.Module:
        return self.nothing
