"""LevelCreditLearner: every level decision learns from its own counterfactual.

PPO credits the whole selection with one advantage ``r(a) − b``: with L decisions per
sample, which of them made the reward is left to many samples to average out (the
known-answer study measured PPO at 0.33–0.57 match from 190–30 720 episodes where the
answer was given as the reward). Here every recorded sample is also scored with each
level flipped (:class:`~rlpkd.learners.experience.LevelCreditExperience`: L more
lookahead steps per sample, ``model.selector.level_credit=True``), which gives each
decision its own credit ``Δ_l = r(a) − r(a ⊕ e_l)`` and says which choice at level
``l`` was the better one, the rest of ``a`` held fixed (a one-step counterfactual
baseline, as AdaFocus's per-sample random-patch baseline or COMA's per-agent one,
Foerster et al. 2018; and full information for that decision, so no importance
weights are needed and an update may take several steps on the same records).

Loss per update (all pending records, ``N`` samples, ``p_l`` the policy's keep
probability of level ``l`` given the state and, sequentially, the recorded earlier
decisions):

    loss = − Σ_l w_l · log π(c_l)  −  β · H(π)  +  c_v · (V − r)²          (means over N)

with ``c_l`` the better choice at level ``l`` and ``w_l = |Δ_l| / mean |Δ|`` (mean
over the update, all ranks: the step size does not depend on the reward's scale).
Its stationary point keeps level ``l`` with probability ``E[Δ⁺] / (E[Δ⁺] + E[Δ⁻])``:
where the measured credit is noisy the policy stays calibrated instead of flipping
with the noise. The critic is fitted to the rewards only for logging (explained
variance) and for switching back to PPO.
"""
from __future__ import annotations

from typing import Dict

import torch
from torch import Tensor, nn

from rlpkd.registry import LEARNERS
from rlpkd.rl.ppo import average_gradients
from rlpkd.utils import mean_over_ranks

from .base import Learner
from .experience import LevelCreditExperience


def level_credit_loss(probs: Tensor, better: Tensor, weight: Tensor) -> Tensor:
    """``− mean_N Σ_l weight · log π(better)`` for keep probabilities ``probs``,
    better choices ``better`` in {0, 1} and weights ``weight``, all ``[N, L]``."""
    probs = probs.clamp(1e-6, 1 - 1e-6)
    log_prob = better * torch.log(probs) + (1 - better) * torch.log1p(-probs)
    return -(weight * log_prob).sum(dim=1).mean()


def bernoulli_entropy(probs: Tensor) -> Tensor:
    """``[N]`` summed entropy (nats) of the L Bernoulli decisions ``probs`` ``[N, L]``."""
    probs = probs.clamp(1e-6, 1 - 1e-6)
    return -(probs * torch.log(probs) + (1 - probs) * torch.log1p(-probs)).sum(dim=1)


@LEARNERS.register_module()
class LevelCreditLearner(Learner):
    """Per-level counterfactual credit (module docstring) for an ``RLSelector`` with
    ``level_credit=True``.

    Args:
        selector: the :class:`~rlpkd.models.selectors.RLSelector` (filled in by the loop).
        lr: Adam step size.
        steps: gradient steps per update (full batch of the pending records).
        entropy_coef: ``β``, weight of the entropy bonus.
        value_coef: ``c_v``, weight of the critic's squared error.
        max_grad_norm: gradient-norm clip of each step.

    Raises:
        ValueError: naming the learner's key for a non-positive ``lr`` / ``steps``.

    Logged (``train/rl/...``): ``reward``, ``improvement``, ``cost``, ``select_<level>``
    (as PPO), ``credit`` (mean |Δ|), ``agreement`` (fraction of recorded decisions that
    were the better choice), ``loss``, ``entropy``, ``value_loss``.
    """

    experience_type = LevelCreditExperience
    log_prefix = 'rl'

    def __init__(self, selector, lr: float = 1e-3, steps: int = 16,
                 entropy_coef: float = 0.0, value_coef: float = 0.5,
                 max_grad_norm: float = 0.5) -> None:
        super().__init__(selector)
        if not lr > 0 or steps < 1:
            raise ValueError(f'LevelCreditLearner (train_cfg.learners): lr must be > 0 and '
                             f'steps >= 1, got lr={lr}, steps={steps}')
        self.policy: nn.Module = selector.learnable()
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=lr, eps=1e-5)
        self.steps = steps
        self.entropy_coef = entropy_coef
        self.value_coef = value_coef
        self.max_grad_norm = max_grad_norm

    def learn(self, experience: LevelCreditExperience) -> Dict[str, float]:
        credit = experience.level_advantages                        # [N, L]
        actions = experience.actions.float()
        better = torch.where(credit >= 0, actions, 1 - actions)
        (scale,) = mean_over_ranks([credit.abs().mean()])
        weight = credit.abs() / scale.to(credit.device).clamp(min=1e-12)
        sums = dict.fromkeys(('loss', 'entropy', 'value_loss'), 0.0)
        with self.selector.trainable():
            for _ in range(self.steps):
                probs, value = self.policy(experience.states, actions)
                entropy = bernoulli_entropy(probs).mean()
                critic = (value - experience.rewards).pow(2).mean()
                loss = level_credit_loss(probs, better, weight) - \
                    self.entropy_coef * entropy + self.value_coef * critic
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                average_gradients(self.policy)
                nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
                self.optimizer.step()
                for key, value_ in (('loss', loss), ('entropy', entropy),
                                    ('value_loss', critic)):
                    sums[key] += float(value_.detach()) / self.steps
        stats = dict(sums, credit=scale, agreement=(better == actions).float().mean())
        stats.update(experience.summary(self.selector.level_names))
        return stats
