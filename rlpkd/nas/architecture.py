"""Architecture parameters of a level search: α ∈ R^{L×2}, logits of (skip, use) per level.

- DARTS-LS mixes each level's two options with ``softmax(α_l)`` (Liu et al., ICLR 2019,
  eq. 2): the "skip" option contributes no loss, so level l's distillation loss is
  weighted by ``p(use)_l = softmax(α_l)[1]``.
- GDAS-LS samples one option per level with the hard Gumbel-softmax and passes the
  gradient straight through the relaxed sample (Dong & Yang, CVPR 2019, eq. 3–5;
  Jang et al., ICLR 2017), at a temperature annealed linearly (GDAS: 10 → 0.1).
- The searched subset is derived by ranking the levels by ``p(use)`` under a cost budget
  (a per-level argmax over {skip, use} would ignore the budget).
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import Tensor, nn

SKIP, USE = 0, 1


class LevelArchitecture(nn.Module):
    """Holds α ``[L, 2]`` (columns: skip, use), initialised ``1e-3 · N(0, 1)`` as DARTS.

    Args:
        num_levels: L.
        init_std: standard deviation of α's initial values.
    """

    def __init__(self, num_levels: int, init_std: float = 1e-3) -> None:
        super().__init__()
        self.alpha = nn.Parameter(init_std * torch.randn(num_levels, 2))

    def use_probability(self, alpha: Optional[Tensor] = None) -> Tensor:
        """``[L]`` ``p(use)_l = softmax(α_l)[use]`` (of ``alpha``, default the held α)."""
        return use_probability(self.alpha if alpha is None else alpha)


def use_probability(alpha: Tensor) -> Tensor:
    """``[L, 2]`` -> ``[L]`` ``softmax(α_l)[use]``."""
    return torch.softmax(alpha, dim=-1)[..., USE]


def gumbel_noise(shape: Sequence[int], generator: Optional[torch.Generator] = None) -> Tensor:
    """``-log(-log U)``, ``U ~ Uniform(0, 1)`` (on CPU: the same draw on every device)."""
    uniform = torch.rand(tuple(shape), generator=generator).clamp(1e-10, 1.0 - 1e-7)
    return -torch.log(-torch.log(uniform))


def straight_through_sample(alpha: Tensor, noise: Tensor, tau: float) -> Tensor:
    """Hard Gumbel-softmax sample ``[L, 2]`` with the straight-through gradient.

    Forward: ``one_hot(argmax(α + g))`` per level; backward: the gradient of the relaxed
    ``softmax((α + g) / τ)`` (Jang et al. 2017, sec. 2.2; GDAS eq. 5).
    """
    soft = torch.softmax((alpha + noise) / tau, dim=-1)
    hard = torch.zeros_like(soft).scatter_(-1, soft.argmax(dim=-1, keepdim=True), 1.0)
    return hard - soft.detach() + soft


def linear_temperature(progress: float, start: float = 10.0, end: float = 0.1) -> float:
    """τ at ``progress`` ∈ [0, 1] of the search: linear from ``start`` to ``end`` (GDAS)."""
    progress = min(max(float(progress), 0.0), 1.0)
    return start + (end - start) * progress


def derive_subset(p_use: Tensor, costs: Tensor, budget: float = 1.0,
                  max_levels: Optional[int] = None) -> list:
    """Level indices of the searched subset, ascending: the levels ranked by ``p_use``
    ``[L]`` (descending; ties: the lower index), each kept if it still fits the cost
    ``budget`` (fraction of the all-level cost; ``costs`` ``[L]`` fractions) and fewer
    than ``max_levels`` are kept. A level that does not fit is skipped and the next
    ranked one tried (greedy by rank).

    Raises:
        ValueError: if not even the cheapest level fits the budget.
    """
    order = sorted(range(len(p_use)), key=lambda i: (-float(p_use[i]), i))
    kept, spent = [], 0.0
    for i in order:
        if max_levels is not None and len(kept) >= max_levels:
            break
        if spent + float(costs[i]) <= budget + 1e-9:
            kept.append(i)
            spent += float(costs[i])
    if not kept:
        raise ValueError(f'no level fits the search budget {budget} (level cost fractions '
                         f'{[round(float(c), 4) for c in costs]})')
    return sorted(kept)
