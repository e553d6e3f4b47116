"""An average distillation-cost constraint, enforced with a Lagrange multiplier.

The policy maximises the reward subject to ``E[used] ≤ target`` (``used``: the fraction
of the all-level distillation cost a selection spends). Lagrangian relaxation turns it
into an unconstrained reward with an adaptive price of cost::

    r'(a) = r(a) − μ · used(a)
    μ ← max(0, μ + η_μ · (mean used − target))          (dual ascent, after each update)

so μ grows while the policy spends more than ``target`` and decays to 0 once it spends
less: the target is a constraint, not a fixed λ-weighted bonus whose best value depends
on the reward's scale. Sources: constrained MDPs by Lagrangian relaxation (Altman,
"Constrained Markov Decision Processes", 1999); the same dual-ascent scheme as RCPO
(Tessler et al., ICLR 2019) and the cost multipliers of budgeted dynamic networks.
"""
from __future__ import annotations

from typing import Dict

from torch import Tensor

from rlpkd.utils.dist import mean_over_ranks


class CostConstraint:
    """``E[used] ≤ target`` through the multiplier μ (module docstring).

    Args:
        target: the allowed mean cost fraction, in (0, 1].
        multiplier_lr: dual step size η_μ (reward units per unit of cost violation).
        multiplier: the starting μ ≥ 0.
    """

    def __init__(self, target: float, multiplier_lr: float = 0.5,
                 multiplier: float = 0.0) -> None:
        if not 0.0 < target <= 1.0:
            raise ValueError('train_cfg.learners.ppo.cost_target must be in (0, 1], got '
                             f'{target}')
        if multiplier_lr <= 0 or multiplier < 0:
            raise ValueError('train_cfg.learners.ppo.multiplier_lr must be > 0 (and the '
                             f'multiplier >= 0), got {multiplier_lr} and {multiplier}')
        self.target = float(target)
        self.multiplier_lr = float(multiplier_lr)
        self.multiplier = float(multiplier)

    def price(self, reward: Tensor, used: Tensor) -> Tensor:
        """``r − μ · used`` for ``reward`` and ``used`` of the same shape (e.g. ``[N]``)."""
        return reward - self.multiplier * used

    def update(self, used: Tensor) -> float:
        """One dual-ascent step from the costs ``used`` ``[N]`` spent since the last one
        (averaged over ranks: μ stays identical under DDP); returns the new μ."""
        mean_used = float(mean_over_ranks([used.float().mean()])[0])
        self.multiplier = max(0.0, self.multiplier
                              + self.multiplier_lr * (mean_used - self.target))
        return self.multiplier

    def state_dict(self) -> Dict[str, float]:
        return dict(multiplier=self.multiplier)

    def load_state_dict(self, state: Dict[str, float]) -> None:
        self.multiplier = float(state['multiplier'])

