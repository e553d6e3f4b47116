"""PPOLearner: the RL-PyramidKD policy learns from its scored decisions with PPO."""
from __future__ import annotations

from typing import Dict, Optional

from rlpkd.registry import LEARNERS
from rlpkd.rl.budget import CostConstraint
from rlpkd.rl.ppo import PPOTrainer

from .base import Learner
from .experience import PolicyExperience


@LEARNERS.register_module()
class PPOLearner(Learner):
    """PPO (:class:`rlpkd.rl.ppo.PPOTrainer`) on single-step episodes.

    Every sample is an episode whose L decisions the policy takes internally and whose
    reward comes at the end (``done = 1``), so GAE reduces to ``A = r − b`` with the
    experience's baseline ``b``: the critic's value ``V``, or the greedy choice's reward
    on the same image for a self-critical selector (``model.selector.self_critical``).
    An update runs PPO on all pending records as one rollout ``[1, N]`` (the critic is
    trained towards the rewards either way).

    With ``cost_target`` the mean cost is a constraint (:class:`rlpkd.rl.budget.CostConstraint`):
    every update prices the rewards and the self-critical baselines at the current
    multiplier μ (``r − μ · used``), then takes one dual-ascent step on μ.

    Args:
        selector: an :class:`~rlpkd.models.selectors.RLSelector` (filled in by the loop).
        cost_target: the allowed mean distillation-cost fraction (``None``: no
            constraint; the reward's λ · saved term still prices cost).
        multiplier_lr: dual step size of the constraint's multiplier.
        **ppo: :class:`PPOTrainer` arguments (``lr``, ``clip_epsilon``, ``value_coef``,
            ``entropy_coef``, ``max_grad_norm``, ``ppo_epochs``, ``num_minibatches``,
            ``target_kl``, ``seed``, ...).

    Logged (``train/rl/...``): ``reward``, ``improvement``, ``cost`` (cost fraction
    spent), ``select_<level>`` (rate at which the sampled masks keep each level), and
    PPO's ``policy_loss``, ``value_loss``, ``entropy``, ``clip_fraction``,
    ``approx_kl``, ``explained_variance``, ``num_updates`` (and ``cost_multiplier``,
    the μ the update used, with a ``cost_target``).
    """

    experience_type = PolicyExperience
    log_prefix = 'rl'

    def __init__(self, selector, cost_target: Optional[float] = None,
                 multiplier_lr: float = 0.5, **ppo) -> None:
        super().__init__(selector)
        self.ppo = PPOTrainer(selector.learnable(), **ppo)
        self.constraint = None if cost_target is None else \
            CostConstraint(cost_target, multiplier_lr)

    def check_update_size(self, num_samples: int, where: str) -> None:
        if num_samples < self.ppo.num_minibatches:
            raise ValueError(
                f'{where} collects {num_samples} transitions per PPO update '
                '(update_interval x collect_samples or batch size), fewer than the PPO '
                f'learner\'s num_minibatches={self.ppo.num_minibatches}')

    def learn(self, experience: PolicyExperience) -> Dict[str, float]:
        rewards, baselines, stats = experience.rewards, experience.baselines, {}
        if self.constraint is not None:
            rewards = self.constraint.price(rewards, experience.used_cost)
            baselines = self.constraint.price(baselines, experience.baseline_cost)
            stats['cost_multiplier'] = self.constraint.multiplier
            self.constraint.update(experience.used_cost)
        with self.selector.trainable():
            stats.update(self.ppo.train_step(experience.rollout(rewards, baselines)))
        stats.update(experience.summary(self.selector.level_names))
        return stats

    def state_dict(self) -> dict:
        state = dict(super().state_dict(), ppo=self.ppo.state_dict())
        if self.constraint is not None:
            state['constraint'] = self.constraint.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.ppo.load_state_dict(state['ppo'])
        if self.constraint is not None:
            if 'constraint' not in state:
                raise KeyError('the checkpoint\'s PPO learner has no cost constraint, the '
                               'config sets `train_cfg.learners.ppo.cost_target`')
            self.constraint.load_state_dict(state['constraint'])
