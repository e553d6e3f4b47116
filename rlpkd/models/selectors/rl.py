"""RLSelector: a PPO policy chooses the distilled levels of every sample."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Sequence, Type

import torch
from torch import nn

from rlpkd.learners.experience import LevelCreditExperience, PolicyExperience
from rlpkd.pyramid.functional import TaskInputs
from rlpkd.registry import MODELS
from rlpkd.rl.environment import Observation, ParallelDistillationEnv
from rlpkd.rl.policy import PolicyNetwork
from rlpkd.rl.policy_io import load_policy
from rlpkd.rl.state import PROTOTYPE_FIELDS, check_fields

from .base import LearnedSelector, Selection, SelectionContext


@MODELS.register_module()
class RLSelector(LearnedSelector):
    """Per-sample level selection by the RL-PyramidKD policy.

    Per batch: states ``[B, S]`` of the student pyramid caught during its own forward
    pass (:class:`rlpkd.rl.environment.ParallelDistillationEnv`, built once at
    :meth:`bind`), then ``policy.select_action``. Modes (:meth:`set_mode`, set by the
    phase loop): ``'sample'`` (stochastic), ``'greedy'`` (deterministic), ``'uniform'``
    (every level: the warm-up phase); outside training always greedy.

    When experience was requested, the forward keeps (detached) what scoring needs for
    the first ``num_samples`` samples, and :meth:`collect_experience`, called after the
    student's optimiser step, scores the choice with the measured lookahead reward and
    returns a :class:`~rlpkd.learners.PolicyExperience` for the PPO learner. Nothing of
    it touches the student's autograd graph.

    The policy lives here (so it is in the checkpoint and broadcast by DDP) with
    ``requires_grad=False``: the student's optimiser never updates it; the learner
    does, inside :meth:`trainable`.

    Args:
        policy: :class:`rlpkd.rl.policy.PolicyNetwork` arguments (``hidden_dim``,
            ``use_lstm``, ``hard_budget``); ``state_dim``, ``num_layers``,
            ``level_costs`` and ``layout`` come from the environment.
        budget: per-sample cost budget (fraction of the all-level cost, 1 = none).
        lambda_tradeoff: λ of the reward.
        lookahead_lr: step size of the reward's virtual student step.
        over_budget_penalty: reward penalty per unit of cost over budget.
        global_module: student module whose last output is the global feature.
        lookahead_max_drop: caps the virtual step so that its first-order predicted drop
            is at most this fraction of the sample's gap (no overshoot).
        lookahead_chunk: samples whose virtual steps the reward computes together
            (``torch.func.vmap``); 1 = one at a time: least memory. Rewards do not
            depend on it.
        reward_signal: ``'gap'`` (the prototype's: the distillation gap's drop),
            ``'task'`` (the drop of the image's own task loss after the virtual step) or
            ``'alignment'`` (its first-order version: the selected levels' distillation
            gradient dotted with the image's task gradient) or ``'batch_alignment'``
            (dotted with the scored batch's task gradient: the image's first-order
            influence on the batch's task loss; :mod:`rlpkd.rl.reward`) or
            ``'stitching'`` (the teacher's head judges the student's pyramid stitched
            into the teacher with the kept levels replaced by their targets:
            :mod:`rlpkd.rl.stitching`).
        self_critical: also score the greedy choice on each recorded image and use its
            reward as the advantage baseline (Rennie et al. 2017; BlockDrop) instead of
            the critic's value: a per-image counterfactual.
        state_gap: the state's gap entry: ``'teacher'`` (the sample's pooled gap to the
            teacher pyramid: the teacher runs on every sample before the decision) or
            ``'none'`` (0: the policy decides on the student alone, and the teacher
            runs only on samples with a kept level or a recorded decision; a real
            saving where selections are empty).
        policy_init: a policy file or checkpoint to start the policy from (e.g. the
            meta-trained ``work_dir/meta_policy.pth`` of a ``configs/maml`` run; formats:
            :mod:`rlpkd.rl.policy_io`); the task keeps its own level costs. ``None``:
            a fresh policy. A missing or incompatible file fails at build.
        state_fields: the state's fields (:mod:`rlpkd.rl.state`): the prototype's
            ``'global'``, ``'levels'``, ``'gap'`` (the default: 1542 entries for 4
            levels) and the signals ``'discrepancy'`` (the sample's standardised level
            losses; needs ``state_gap='teacher'``), ``'agreement'`` (each teacher level's
            standardised agreement with its other levels on where the content is; needs
            ``state_gap='teacher'``) and ``'reliability'`` (the teacher's standardised
            task loss on the sample) (:mod:`rlpkd.rl.signals`).
        level_credit: also score every recorded sample with each level flipped (L more
            lookahead steps per sample) and return
            :class:`~rlpkd.learners.LevelCreditExperience`, for
            :class:`~rlpkd.learners.LevelCreditLearner`.
    """

    def __init__(self, policy: Optional[dict] = None, budget: float = 1.0,
                 lambda_tradeoff: float = 0.5, lookahead_lr: float = 0.01,
                 over_budget_penalty: float = 1.0, global_module: str = 'backbone',
                 lookahead_max_drop: float = 0.1, lookahead_chunk: int = 1,
                 reward_signal: str = 'gap', self_critical: bool = False,
                 state_gap: str = 'teacher', policy_init: Optional[str] = None,
                 state_fields: Sequence[str] = PROTOTYPE_FIELDS,
                 level_credit: bool = False) -> None:
        super().__init__()
        if state_gap not in ('teacher', 'none'):
            raise ValueError(f"`model.selector.state_gap` must be 'teacher' or 'none', got "
                             f'{state_gap!r}')
        for name in ('discrepancy', 'agreement'):
            if state_gap == 'none' and name in state_fields:
                raise ValueError(f"`model.selector.state_fields` {name!r} reads the teacher "
                                 "pyramid before the decision: it needs "
                                 "`model.selector.state_gap='teacher'`")
        self.state_gap = state_gap
        self.policy_cfg = dict(hidden_dim=256, use_lstm=True, hard_budget=False)
        self.policy_cfg.update(policy or {})
        self.env_cfg = dict(budget=budget, lambda_tradeoff=lambda_tradeoff,
                            lookahead_lr=lookahead_lr,
                            over_budget_penalty=over_budget_penalty,
                            global_module=global_module,
                            lookahead_max_drop=lookahead_max_drop,
                            lookahead_chunk=lookahead_chunk, reward_signal=reward_signal,
                            state_fields=check_fields(state_fields))
        self.level_credit = level_credit
        self.self_critical = self_critical
        self.policy_init = policy_init
        self.pending: Optional[dict] = None

    def bind(self, pair) -> None:
        """Build the environment (state builder, cost model, reward) and the policy
        (started from ``policy_init`` if given)."""
        super().bind(pair)
        self.env = ParallelDistillationEnv(pair, **self.env_cfg)
        self.policy = PolicyNetwork(state_dim=self.env.state_dim,
                                    num_layers=self.num_levels,
                                    level_costs=self.env.cost_model.fractions,
                                    layout=self.env.layout, **self.policy_cfg)
        if self.policy_init is not None:
            load_policy(self.policy, self.policy_init, key='model.selector.policy_init')
        self.policy.requires_grad_(False)

    @contextmanager
    def observe(self) -> Iterator[Dict[str, object]]:
        with self.env.observe() as observed:
            yield observed

    def learnable(self) -> nn.Module:
        return self.policy

    def experience_type(self) -> Type[PolicyExperience]:
        return LevelCreditExperience if self.level_credit else PolicyExperience

    @property
    def decides_before_teacher(self) -> bool:
        return self.state_gap == 'none'

    def attach_teacher(self, teacher_feats, index) -> None:
        """The recorded samples (the batch's first ones, always among ``index``) get
        their teacher pyramid for scoring."""
        if self.pending is not None and self.pending['observation'].teacher_feats is None:
            count = len(self.pending['actions'])
            self.pending['observation'].teacher_feats = [t[:count] for t in teacher_feats]

    def forward(self, context: SelectionContext) -> Selection:
        batch = context.batch_size
        device = context.student_feats[0].device
        record = self.take_request(batch) if self.training else 0
        if self.training and self.mode == 'uniform':
            return Selection(mask=torch.ones(batch, self.num_levels, device=device))
        task = None if context.inputs is None or context.data_samples is None else \
            TaskInputs(context.inputs, list(context.data_samples))
        with torch.no_grad(), torch.autocast(device.type, enabled=False):
            states, observation = self.env.states(context.observed, context.student_feats,
                                                  context.teacher_feats, task=task)
            greedy = not self.training or self.mode == 'greedy'
            action, log_prob, value = self.policy.select_action(states, deterministic=greedy)
            used = self.env.cost_model.used_fraction(action)
            if record:
                self.pending = self._record(observation.head(record), states[:record],
                                            action[:record], log_prob[:record],
                                            value[:record])
        recorded = torch.arange(batch, device=device) < record
        return Selection(mask=action, log_prob=log_prob, info=dict(used_cost=used),
                         teacher_needed=recorded)

    def _record(self, observation: Observation, states, actions, log_probs, values) -> dict:
        """What scoring the recorded samples needs (all detached, ``[k, ...]``)."""
        baseline_actions = None
        if self.self_critical:  # the greedy choice on the same images: the baseline
            baseline_actions = self.policy.select_action(states, deterministic=True)[0]
        return dict(observation=observation, states=states, actions=actions,
                    log_probs=log_probs, values=values, baseline_actions=baseline_actions)

    def collect_experience(self) -> Optional[PolicyExperience]:
        """Score the last recorded choice (``None`` if none was recorded)."""
        if self.pending is None:
            return None
        pending, self.pending = self.pending, None
        observation: Observation = pending['observation']
        baseline = pending['baseline_actions']
        reward, info = self.env.score(observation, pending['actions'], baseline,
                                      flips=self.level_credit)
        baseline_cost = torch.zeros_like(reward) if baseline is None else \
            self.env.cost_model.used_fraction(baseline)
        extra = dict(flip_rewards=info['flip_rewards']) if self.level_credit else {}
        return self.experience_type()(
            states=pending['states'], actions=pending['actions'],
            log_probs=pending['log_probs'], values=pending['values'], rewards=reward,
            improvement=info['improvement'], used_cost=info['used_cost'],
            baselines=info.get('baseline_reward', pending['values']),
            baseline_cost=baseline_cost, **extra)
