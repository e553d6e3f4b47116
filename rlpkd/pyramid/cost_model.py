"""What distilling one pyramid level of one sample costs, in FLOPs.

cost_l = FLOPs of connector_l forward + backward, counted by
``torch.utils.flop_counter.FlopCounterMode`` on one sample of level l's shape,
       + numel(T_l) · ``flops_per_element`` of the level loss · 3
         (forward, and a backward of twice the forward: the usual rule of thumb,
         since the counter sees only matmul / convolution ops, not element-wise ones).

The counts are taken once, at build time, from the real modules and the feature
shapes of the distiller's build-time probe (so P2 of an FPN costs about 16x P4, and a
dilated backbone whose res3-res5 share stride 8 costs what it costs). Fractions
``cost / cost.sum()`` are what the policy and the reward use; they do not depend on
the probe's image size as long as it is a multiple of the coarsest level's stride.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Optional, Sequence

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from rlpkd.utils import eval_mode

if TYPE_CHECKING:
    from rlpkd.pyramid.pair import PyramidPair


def count_level_flops(connector: Optional[nn.Module], student_shape: Sequence[int],
                      teacher_shape: Sequence[int], flops_per_element: float) -> float:
    """FLOPs to distil one sample on one level (see module docstring).

    Args:
        connector: the level's adapter, or ``None``.
        student_shape: ``(C_s, H, W)`` of the student level.
        teacher_shape: ``(C_t, H, W)`` of the teacher level.
        flops_per_element: element-wise operations of the loss per feature element.
    """
    flops = 3.0 * flops_per_element * float(torch.Size(teacher_shape).numel())
    if connector is not None:
        param = next(connector.parameters())
        feat = torch.zeros(1, *student_shape, device=param.device, dtype=param.dtype,
                           requires_grad=True)
        # eval: batch statistics of one sample are undefined
        with eval_mode(connector), torch.enable_grad(), \
                FlopCounterMode(display=False) as counter:
            connector(feat).sum().backward()
        connector.zero_grad(set_to_none=True)
        flops += float(counter.get_total_flops())
    return flops


class LevelCostModel:
    """Per-level distillation cost in FLOPs per sample, and its normalised fractions.

    Args:
        flops: ``[L]`` FLOPs per sample of each level.
        level_names: the L level names.
    """

    def __init__(self, flops: Sequence[float], level_names: Sequence[str]) -> None:
        self.flops = torch.tensor([float(f) for f in flops], dtype=torch.float64)
        self.level_names = tuple(level_names)
        if (self.flops <= 0).any():
            raise ValueError(f'every level must cost something, got {self.as_dict()}')

    @classmethod
    def from_pair(cls, pair: 'PyramidPair') -> 'LevelCostModel':
        """Count the FLOPs of ``pair``'s connectors and level loss on its probe's shapes."""
        flops = []
        per_element = getattr(pair.level_loss, 'flops_per_element', 1.0)
        for name, s_shape, t_shape in zip(pair.level_names, pair.probe.student,
                                          pair.probe.teacher):
            connector = pair.connectors[name] if name in pair.connectors else None
            flops.append(count_level_flops(connector, s_shape, t_shape, per_element))
        return cls(flops, pair.level_names)

    @property
    def fractions(self) -> Tensor:
        """``[L]`` float32 costs normalised to sum to 1."""
        return (self.flops / self.flops.sum()).float()

    def used_fraction(self, mask: Tensor) -> Tensor:
        """``[B, L]`` selection -> ``[B]`` fraction of the all-level cost it spends."""
        return mask.float() @ self.fractions.to(mask.device)

    def as_dict(self) -> Dict[str, float]:
        return dict(zip(self.level_names, self.flops.tolist()))
