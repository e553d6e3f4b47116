"""The ``'stitching'`` reward signal: the teacher's task head judges a selection.

The student's pyramid is put into the teacher in place of the teacher's own (model
stitching: Lenc & Vedaldi, CVPR 2015; Bansal et al., NeurIPS 2021, "Revisiting model
stitching"), each level through its connector, and the levels a selection keeps are
replaced by their distillation targets. The teacher's task loss on the sample's ground
truth (``T_t``, e.g. its RPN + RoI losses) says how good that pyramid is for the task:

    improvement(a) = (T_t(Ŝ) − T_t(Ŝ ⊕_a T)) / T_t(Ŝ)          (≤ 1; clipped at −2)

- ``Ŝ_l``: student level l in the teacher's space: its connector's output, each channel
  standardised over space within the sample and given the mean and standard deviation of
  the target level's channel (losses like PKD's leave the connector's scale free; the
  teacher's head expects its own).
- ``Ŝ ⊕_a T``: ``Ŝ`` with the levels of ``a`` replaced by the targets ``T_l``.
  Outputs of the tapped module that are no pyramid level (an FPN's extra P6) stay the
  teacher's own.

It is the improvement the sample's pyramid would get, by a head that solves the task, if
the student reached its selected targets: the full step of the distillation, where the
lookahead signals (:mod:`rlpkd.rl.reward`) take an infinitesimal one and judge it with
the student's own (weak, early in training) head. A target level that is wrong for the
image (in the known-answer benchmark: mirrored, noise) makes the stitched pyramid worse
and gets a negative improvement; a level the student has already learned gets ≈ 0.

Where the pyramid is one module's tuple output (an FPN neck) the replaced levels reach
the teacher's head directly; where each level is its own module (``modules=`` taps, e.g.
ResNet stages) the replacement also flows through the later stages. A level that neither
the head nor a later stage reads scores 0.

Cost, per scored sample: ``2 + K`` teacher forward passes (``Ŝ``, the full target, and
each of the ``K`` scored selections), no backward pass.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, List

import torch
from torch import Tensor

from rlpkd.pyramid.functional import TaskInputs

if TYPE_CHECKING:
    from rlpkd.pyramid.pair import PyramidPair


def stitched_levels(pair: 'PyramidPair', student_feats: List[Tensor],
                    teacher_feats: List[Tensor], eps: float = 1e-6) -> List[Tensor]:
    """``Ŝ``: L student levels ``[B, C_l, H_l, W_l]`` in the teacher's space, shaped like
    ``teacher_feats`` ``[B, C'_l, H'_l, W'_l]``, each channel with the per-sample spatial
    mean and standard deviation of the target's channel (module docstring)."""
    out = []
    for name, s_feat, t_feat in zip(pair.level_names, student_feats, teacher_feats):
        mapped = pair.to_teacher_space(name, s_feat, t_feat).flatten(2)
        target = t_feat.flatten(2)
        standard = (mapped - mapped.mean(2, keepdim=True)) / (
            mapped.std(2, unbiased=False, keepdim=True) + eps)
        out.append((standard * target.std(2, unbiased=False, keepdim=True)
                    + target.mean(2, keepdim=True)).view_as(t_feat))
    return out


@torch.no_grad()
def stitched_drops(pair: 'PyramidPair', student_feats: List[Tensor],
                   teacher_feats: List[Tensor], masks: Tensor, task: TaskInputs) -> Tensor:
    """``[B, 1 + K]``: per sample, the relative drop of the teacher's task loss on the
    stitched pyramid (module docstring) when every level is replaced by its target, then
    when the levels of each ``masks[:, k]`` (``[B, K, L]`` in {0, 1}) are.

    Args:
        pair: the matched pyramids (connectors, the teacher and its tap).
        student_feats: L student levels ``[B, C_l, H_l, W_l]``.
        teacher_feats: L target levels ``[B, C'_l, H'_l, W'_l]``.
        masks: the scored selections.
        task: the batch's images and data samples (the ground truth of the loss).
    """
    stitched = stitched_levels(pair, [s.float() for s in student_feats],
                               [t.float() for t in teacher_feats])
    base = pair.teacher_task_loss(task, dict(enumerate(stitched)))
    full = torch.ones_like(masks[:, 0])
    drops = []
    for mask in [full] + list(masks.unbind(1)):
        levels = {level: torch.where(mask[:, level, None, None, None] > 0,
                                     teacher_feats[level].float(), stitched[level])
                  for level in range(len(stitched))}
        drops.append((base - pair.teacher_task_loss(task, levels))
                     / base.clamp(min=1e-12))
    return torch.stack(drops, dim=1)
