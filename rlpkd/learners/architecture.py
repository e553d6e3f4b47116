"""ArchitectureLearner: the architecture step of the NAS baselines (DARTS-LS, GDAS-LS).

The selector (:class:`~rlpkd.models.selectors.ArchitectureSelector`) computes the
unrolled hypergradient of the held-out task loss (:mod:`rlpkd.nas.unrolled`) and
returns it as an :class:`ArchitectureExperience`; an update averages the pending
hypergradients (over records and ranks), adds the gradient of the cost regulariser
``λ · Σ_l p(use)_l · cost_l`` and takes one Adam step on α with the DARTS paper's
settings (Liu et al., ICLR 2019, sec. 3.1.2: lr 3e-4, betas (0.5, 0.999), weight
decay 1e-3; GDAS uses the same).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Sequence

import torch
from torch import Tensor

from rlpkd.registry import LEARNERS
from rlpkd.utils import mean_over_ranks

from .base import Learner
from .experience import Experience


@dataclass
class ArchitectureExperience(Experience):
    """Architecture steps recorded by an architecture selector.

    Attributes:
        hypergradient: ``[N, L, 2]`` the unrolled hypergradient ``∇_α L_val(w')`` of
            each step (at the α of the step; without the cost regulariser).
        val_loss: ``[N]`` the held-out task loss at the virtually stepped weights ``w'``.
        weights: ``[N, L]`` the level weights ``r(α)`` of the weight step.
    """

    hypergradient: Tensor
    val_loss: Tensor
    weights: Tensor


@LEARNERS.register_module()
class ArchitectureLearner(Learner):
    """Adam on α from the selector's hypergradients plus ``cost_weight · ∇_α E[cost]``.

    Args:
        selector: an :class:`~rlpkd.models.selectors.ArchitectureSelector` (filled in by
            the loop).
        lr, betas, weight_decay: Adam's (DARTS: 3e-4, (0.5, 0.999), 1e-3).
        cost_weight: λ of the cost regulariser ``λ · Σ_l p(use)_l · cost_l`` (cost
            fractions of :class:`~rlpkd.rl.cost_model.LevelCostModel`).

    Logged (``train/nas/...``): ``val_loss``, ``expected_cost``, ``hypergradient_norm``,
    ``p_use_<level>`` (after the step), ``weight_<level>`` (mean level weight of the
    recorded weight steps).
    """

    experience_type = ArchitectureExperience
    log_prefix = 'nas'

    def __init__(self, selector, lr: float = 3e-4, betas: Sequence[float] = (0.5, 0.999),
                 weight_decay: float = 1e-3, cost_weight: float = 0.0) -> None:
        super().__init__(selector)
        self.cost_weight = float(cost_weight)
        self.optimizer = torch.optim.Adam(selector.learnable().parameters(), lr=lr,
                                          betas=tuple(betas), weight_decay=weight_decay)

    def learn(self, experience: ArchitectureExperience) -> Dict[str, float]:
        # the same mean on every rank: α stays identical (checked by Learner.update)
        hyper = mean_over_ranks([experience.hypergradient.mean(dim=0)])[0]
        with self.selector.trainable() as architecture:
            (alpha,) = list(architecture.parameters())
            cost = self.selector.expected_cost()
            (self.cost_weight * cost).backward()
            alpha.grad = alpha.grad + hyper.to(alpha.device, alpha.dtype)
            self.optimizer.step()
        stats = dict(val_loss=experience.val_loss.mean(), expected_cost=cost.detach(),
                     hypergradient_norm=hyper.norm())
        names = self.selector.level_names
        p_use = self.selector.use_probability()
        stats.update({f'p_use_{n}': p for n, p in zip(names, p_use)})
        stats.update({f'weight_{n}': w for n, w in
                      zip(names, experience.weights.float().mean(dim=0))})
        return stats

    def state_dict(self) -> dict:
        return dict(super().state_dict(), optimizer=self.optimizer.state_dict())

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.optimizer.load_state_dict(state['optimizer'])
