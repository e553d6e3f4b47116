"""Typed records of what a learned selector experienced, for its learner: every type.

``PolicyExperience`` (RL-PyramidKD; ``LevelCreditExperience`` adds the one-level
flips' rewards), ``ArchitectureExperience`` (DARTS-LS / GDAS-LS),
``FitnessExperience`` (EA-LS).

A record holds N samples (the first dimension of every field). Records of several
training steps are concatenated by the learner before an update, and the pending ones
travel in checkpoints (:meth:`Experience.state_dict`).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Dict, Optional, Sequence, Type, TypeVar

import torch
from torch import Tensor

T = TypeVar('T', bound='Experience')


@dataclass
class Experience:
    """Base of experience records: a dataclass whose fields are ``[N, ...]`` tensors."""

    def __len__(self) -> int:
        return int(getattr(self, fields(self)[0].name).shape[0])

    def as_dict(self) -> Dict[str, Tensor]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def cat(cls: Type[T], records: Sequence[T]) -> T:
        """One record of all samples of ``records`` (in order)."""
        if not records:
            raise ValueError(f'{cls.__name__}.cat: no records')
        return cls(**{f.name: torch.cat([getattr(r, f.name) for r in records])
                      for f in fields(cls)})

    def to(self: T, device: torch.device) -> T:
        return type(self)(**{k: v.to(device) for k, v in self.as_dict().items()})

    def state_dict(self) -> Dict[str, Tensor]:
        """The fields on CPU (for checkpoints)."""
        return {k: v.detach().cpu() for k, v in self.as_dict().items()}


@dataclass
class PolicyExperience(Experience):
    """Scored decisions of a stochastic policy: one single-step episode per sample.

    Attributes:
        states: ``[N, S]`` states the policy saw.
        actions: ``[N, L]`` sampled level masks in {0, 1}.
        log_probs: ``[N]`` log-probability of each mask under the acting policy.
        values: ``[N]`` the critic's value of each state.
        rewards: ``[N]`` the measured rewards (:class:`rlpkd.rl.reward.LookaheadReward`).
        improvement: ``[N]`` the reward's improvement term ``ΔL(a) / ΔL(1)``.
        used_cost: ``[N]`` fraction of the all-level distillation cost spent.
        baselines: ``[N]`` the advantage baseline ``b`` of ``A = r − b``: the critic's
            value (``values``), or with a self-critical selector the reward of the greedy
            choice on the same image.
        baseline_cost: ``[N]`` the cost fraction the baseline's choice spends (0 for the
            critic's value), so that a cost price (:class:`rlpkd.rl.budget.CostConstraint`)
            applies to both sides of ``A``.
    """

    states: Tensor
    actions: Tensor
    log_probs: Tensor
    values: Tensor
    rewards: Tensor
    improvement: Tensor
    used_cost: Tensor
    baselines: Tensor
    baseline_cost: Tensor

    def rollout(self, rewards: Optional[Tensor] = None,
                baselines: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """The records as one PPO rollout ``[1, N]`` of single-step episodes: ``done = 1``
        and ``values`` = the baselines, so GAE gives ``A = r − b``. ``rewards`` /
        ``baselines`` ``[N]`` replace the recorded ones (e.g. priced by a cost constraint)."""
        rewards = self.rewards if rewards is None else rewards
        rollout = dict(states=self.states, actions=self.actions, rewards=rewards,
                       values=self.baselines if baselines is None else baselines,
                       log_probs=self.log_probs, dones=torch.ones_like(rewards))
        return {k: v[None] for k, v in rollout.items()}

    def summary(self, level_names) -> Dict[str, Tensor]:
        """Mean ``reward``, ``improvement``, ``cost`` and the rate ``select_<level>`` at
        which the recorded masks keep each level (the learners' logged statistics)."""
        rates = self.actions.float().mean(dim=0)
        return dict(reward=self.rewards.mean(), improvement=self.improvement.mean(),
                    cost=self.used_cost.mean(),
                    **{f'select_{name}': rate for name, rate in zip(level_names, rates)})


@dataclass
class LevelCreditExperience(PolicyExperience):
    """Policy experience with every level's counterfactual: one-level flips.

    Attributes:
        flip_rewards: ``[N, L]`` the reward of ``actions`` with level ``l`` flipped
            (everything else as :class:`PolicyExperience`), scored on the same sample
            with the same virtual step.
    """

    flip_rewards: Tensor

    @property
    def level_advantages(self) -> Tensor:
        """``[N, L]`` per-level credit ``r(a) − r(a ⊕ e_l)``: how much the decision
        taken at level ``l`` beat the other one, the rest of ``a`` held fixed."""
        return self.rewards[:, None] - self.flip_rewards


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


@dataclass
class FitnessExperience(Experience):
    """Evaluated candidates of an evolution selector.

    Attributes:
        weights: ``[N, L]`` the candidate's level weights.
        val_loss: ``[N]`` the student's mean held-out task loss after the candidate's
            proxy training (this rank's held-out batches).
        cost: ``[N]`` the cost fraction of the levels the candidate distils.
    """

    weights: Tensor
    val_loss: Tensor
    cost: Tensor
