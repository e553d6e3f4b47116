"""Per-level state signals: what the policy needs to tell a level worth distilling.

The prototype's state (:mod:`rlpkd.rl.state`) describes the *student*: pooled
features and one pooled gap. Whether a level of a sample is worth distilling depends
on the *pair*: how far the student is from the teacher on that level, and whether the
teacher is right on that sample. The signals, each a named state field selectable by
``model.selector.state_fields`` (:mod:`rlpkd.rl.state`):

- ``'discrepancy'`` ``[B, L]``: the sample's level loss per level (the configured
  ``model.level_loss`` between the connector-mapped student level and the teacher
  level: :meth:`rlpkd.models.PyramidPair.pair_losses`), log-compressed and
  standardised per level by running statistics. A level whose teacher target is wrong
  for this sample stands out (a large positive value) against what that level usually
  costs. Needs the teacher pyramid before the decision (``state_gap='teacher'``).
- ``'agreement'`` ``[B, L]``: how much the teacher's level ``l`` agrees with its other
  levels on *where* the sample's content is: the Pearson correlation of the level's
  spatial attention map (the channel mean of squared activations, Zagoruyko & Komodakis
  2017, "Paying more attention to attention") with the mean map of the other levels, all
  resized to ``agreement_size``² (:func:`attention_agreement`); standardised per level
  by running statistics (no log: it lies in [−1, 1]). A level whose target says
  something else than the rest of the pyramid about this image stands out (either way:
  the odd level out is the wrong one when one level is wrong, the right one when all
  but one are). It costs no forward pass. Needs the teacher pyramid before the decision.
- ``'reliability'`` ``[B, 1]``: the teacher's own task loss on the sample (its
  ground truth; ``teacher.loss`` on the one image, eval mode, fixed seed),
  log-compressed and standardised by running statistics: high = the teacher is wrong
  about this sample (CA-MKD, Zhang et al. 2022, weight teachers by their cross-entropy
  against the label; AID, Lan & Tian 2022, by their detection loss per instance).
  Needs the batch's data samples.

Running statistics: :class:`RunningStandardiser` (mean / variance over every sample
seen in training, merged per batch by Chan et al.'s parallel update, summed over DDP
ranks first so that every rank holds the same statistics; buffers, so they are in the
checkpoint and ``--resume`` restores them; frozen in eval mode).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rlpkd.pyramid.functional import TaskInputs
from rlpkd.utils import eval_mode, sum_over_ranks

from .state import SIGNAL_FIELDS, check_fields

if TYPE_CHECKING:
    from rlpkd.pyramid.pair import PyramidPair

class RunningStandardiser(nn.Module):
    """``(x − mean) / sqrt(var + eps)`` per column, by running statistics of ``x``.

    The statistics are those of every row seen while in training mode (not an
    exponential average): each batch's count, mean and M2 (summed over DDP ranks) are
    merged by the parallel variance update of Chan, Golub & LeVeque (1979), as in
    Stable-Baselines3's ``RunningMeanStd``. Outputs are clipped to ``[−clip, clip]``.
    Before any row was seen, the batch's own statistics are used.

    Args:
        size: ``K``, the number of columns.
        clip: bound of the standardised values.
        eps: added to the variance.
    """

    def __init__(self, size: int, clip: float = 5.0, eps: float = 1e-8) -> None:
        super().__init__()
        self.clip, self.eps = clip, eps
        self.register_buffer('count', torch.zeros((), dtype=torch.float64))
        self.register_buffer('mean', torch.zeros(size, dtype=torch.float64))
        self.register_buffer('m2', torch.zeros(size, dtype=torch.float64))

    @property
    def var(self) -> Tensor:
        """``[K]`` the running (population) variance."""
        return self.m2 / self.count.clamp(min=1)

    def forward(self, x: Tensor) -> Tensor:
        """Standardise ``x`` ``[B, K]`` (updating the statistics first in training)."""
        if self.training:
            self.update(x)
        if self.count > 0:
            mean, var = self.mean, self.var
        else:
            mean, var = x.double().mean(dim=0), x.double().var(dim=0, unbiased=False)
        out = (x.double() - mean) / (var + self.eps).sqrt()
        return out.clamp(-self.clip, self.clip).float()

    @torch.no_grad()
    def update(self, x: Tensor) -> None:
        """Merge the rows of ``x`` ``[B, K]`` (of every rank) into the statistics."""
        x = x.detach().double()
        count, total, squares = sum_over_ranks(
            [torch.tensor(float(x.shape[0]), device=x.device), x.sum(dim=0),
             x.pow(2).sum(dim=0)])
        if count == 0:
            return
        mean = total / count
        m2 = (squares - count * mean.pow(2)).clamp(min=0)
        delta, merged = mean - self.mean, self.count + count
        self.mean += delta * count / merged
        self.m2 += m2 + delta.pow(2) * self.count * count / merged
        self.count += count


class StateSignals(nn.Module):
    """Computes the signal fields among ``fields`` of a batch (module docstring),
    standardised.

    Args:
        pair: the matched pyramids.
        fields: the state's fields (:func:`rlpkd.rl.state.check_fields`); those of
            :data:`~rlpkd.rl.state.SIGNAL_FIELDS` are computed here.
        agreement_size: side of the grid of the ``'agreement'`` signal's maps.

    Raises:
        ValueError: ``'agreement'`` on a one-level pyramid (names the config key).
    """

    def __init__(self, pair: 'PyramidPair', fields: Sequence[str],
                 agreement_size: int = 16) -> None:
        super().__init__()
        self.agreement_size = agreement_size
        if 'agreement' in fields and pair.num_levels < 2:
            raise ValueError("`model.selector.state_fields` 'agreement' compares a level with "
                             f'the others: the pyramid has {pair.num_levels} level')
        self.signals = tuple(f for f in check_fields(fields) if f in SIGNAL_FIELDS)
        self.pair = pair
        sizes = dict(discrepancy=pair.num_levels, agreement=pair.num_levels, reliability=1)
        self.standardisers = nn.ModuleDict({
            name: RunningStandardiser(sizes[name]) for name in self.signals})

    @torch.no_grad()
    def forward(self, student_feats: List[Tensor], teacher_feats: Optional[List[Tensor]],
                task: Optional[TaskInputs]) -> Dict[str, Tensor]:
        """``{name: [B, size]}`` standardised signals of a batch.

        Raises:
            ValueError: a signal's input is missing (no teacher pyramid / no task).
        """
        raw = {}
        for name in ('discrepancy', 'agreement'):
            if name in self.signals and teacher_feats is None:
                raise ValueError(f"state signal {name!r} needs the teacher pyramid before "
                                 "the decision: model.selector.state_gap='teacher'")
        if 'discrepancy' in self.signals:
            raw['discrepancy'] = self.log(self.discrepancy(student_feats, teacher_feats))
        if 'agreement' in self.signals:
            raw['agreement'] = attention_agreement(teacher_feats, self.agreement_size)
        if 'reliability' in self.signals:
            if task is None:
                raise ValueError("state signal 'reliability' needs the batch's images and "
                                 'data samples')
            raw['reliability'] = self.log(self.pair.teacher_task_loss(task)[:, None])
        return {name: self.standardisers[name](raw[name]) for name in self.signals}

    @staticmethod
    def log(values: Tensor) -> Tensor:
        """Log-compressed losses (float32, clamped at 1e-12)."""
        return torch.log(values.float().clamp(min=1e-12))

    def discrepancy(self, student_feats: List[Tensor], teacher_feats: List[Tensor]
                    ) -> Tensor:
        """``[B, L]`` level losses of every level (connectors in eval mode)."""
        pair = self.pair
        with eval_mode(pair.connectors):
            ones = student_feats[0].new_ones(student_feats[0].shape[0], pair.num_levels)
            return pair.pair_losses([f.float() for f in student_feats],
                                    [t.float() for t in teacher_feats], ones)


def attention_agreement(feats: Sequence[Tensor], size: int = 16) -> Tensor:
    """``[B, L]``: per sample and level, the Pearson correlation (over the ``size × size``
    grid) of the level's spatial attention map with the mean attention map of the other
    levels (the ``'agreement'`` signal; module docstring).

    Args:
        feats: L ≥ 2 tensors ``[B, C_l, H_l, W_l]`` (a pyramid; any sizes and channels).
        size: side of the common grid the maps are resized to (bilinear).

    Raises:
        ValueError: fewer than two levels.
    """
    if len(feats) < 2:
        raise ValueError(f'attention agreement compares levels: needs at least 2, got '
                         f'{len(feats)}')
    maps = torch.stack([F.interpolate(f.float().pow(2).mean(dim=1, keepdim=True),
                                      size=(size, size), mode='bilinear',
                                      align_corners=False).flatten(1)
                        for f in feats], dim=1)                          # [B, L, N]
    maps = centred_unit(maps)
    others = centred_unit((maps.sum(dim=1, keepdim=True) - maps) / (len(feats) - 1))
    return (maps * others).sum(dim=-1)


def centred_unit(x: Tensor) -> Tensor:
    """``x`` minus its mean over the last dimension, scaled to unit norm there."""
    x = x - x.mean(dim=-1, keepdim=True)
    return x / x.norm(dim=-1, keepdim=True).clamp(min=1e-12)
