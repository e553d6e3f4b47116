"""RLSelector: a PPO policy chooses the distilled levels of every sample."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Dict, Iterator, Optional

import torch
from torch import Tensor

from rlpkd.registry import MODELS
from rlpkd.rl.policy import PolicyNetwork
from rlpkd.rl.reward import LookaheadReward, tree_detach, tree_slice
from rlpkd.rl.state import StateBuilder, pooled_gap

from .base import LevelSelector, Selection, SelectionContext

MODES = ('uniform', 'sample', 'greedy')


@MODELS.register_module()
class RLSelector(LevelSelector):
    """Per-sample level selection by the RL-PyramidKD policy.

    Per batch: state ``[B, S]`` (:class:`rlpkd.rl.state.StateBuilder`) from the student
    pyramid caught during its forward pass, then ``policy.select_action``. The training
    loop sets :attr:`mode` (``'uniform'`` = every level, phase 1; ``'sample'`` =
    stochastic; ``'greedy'`` = deterministic), :attr:`record` and :attr:`score_samples`;
    outside training the selector is always greedy. When recording, the selector keeps
    what its choice needs (detached) for the first ``score_samples`` samples of the batch
    (all if ``None``; the training sampler shuffles, so they are a random subset) and the
    loop calls :meth:`finish_transition` after the training step: it scores the choice
    with :class:`rlpkd.rl.reward.LookaheadReward` and returns the transition (states,
    actions, log-probs, values, rewards) for PPO. Scoring after the
    step means the lookahead never holds memory while the student's graph is alive, and
    nothing of it touches the student's autograd graph.

    The policy's parameters live here (so they are in the checkpoint and broadcast by
    DDP) but have ``requires_grad=False``: the student's optimiser never updates them;
    PPO does, inside :meth:`trainable`.

    Args:
        policy: :class:`rlpkd.rl.policy.PolicyNetwork` arguments (``hidden_dim``,
            ``use_lstm``, ``hard_budget``); ``state_dim``, ``num_layers`` and
            ``level_costs`` are filled in from the pyramid and the cost model.
        global_dim: size of the state's global block.
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
    """

    reports_selection = True

    def __init__(self, policy: Optional[dict] = None, global_dim: int = 512,
                 budget: float = 1.0, lambda_tradeoff: float = 0.5,
                 lookahead_lr: float = 0.01, over_budget_penalty: float = 1.0,
                 global_module: str = 'backbone', lookahead_max_drop: float = 0.1,
                 lookahead_chunk: int = 1) -> None:
        super().__init__()
        self.policy_cfg = dict(hidden_dim=256, use_lstm=True, hard_budget=False)
        self.policy_cfg.update(policy or {})
        self.global_dim = global_dim
        self.budget = budget
        self.reward_cfg = dict(lambda_tradeoff=lambda_tradeoff, lookahead_lr=lookahead_lr,
                               over_budget_penalty=over_budget_penalty,
                               global_module=global_module,
                               lookahead_max_drop=lookahead_max_drop,
                               lookahead_chunk=lookahead_chunk)
        self.mode = 'sample'
        self.record = False
        self.score_samples: Optional[int] = None
        self.pending: Optional[Dict[str, object]] = None

    def bind(self, distiller) -> None:
        """Probe the pyramid, then build the cost model, state builder and policy."""
        super().bind(distiller)
        self.reward = LookaheadReward(distiller, **self.reward_cfg)
        probe = self.reward.probe
        self.state_builder = StateBuilder(probe['level_channels'], probe['global_channels'],
                                          self.global_dim)
        self.policy = PolicyNetwork(state_dim=self.state_builder.state_dim,
                                    num_layers=self.num_levels,
                                    level_costs=self.reward.cost_model.fractions,
                                    **self.policy_cfg)
        self.policy.requires_grad_(False)

    @contextmanager
    def observe(self) -> Iterator[Dict[str, object]]:
        with self.reward.observe() as caught:
            yield caught

    @contextmanager
    def trainable(self) -> Iterator[None]:
        """Let PPO compute gradients of the policy inside this block."""
        self.policy.requires_grad_(True)
        try:
            yield
        finally:
            self.policy.zero_grad(set_to_none=True)
            self.policy.requires_grad_(False)

    def forward(self, context: SelectionContext) -> Selection:
        if self.mode not in MODES:
            raise ValueError(f'RLSelector.mode must be one of {MODES}, got {self.mode!r}')
        batch = context.batch_size
        device = context.student_feats[0].device
        if self.training and self.mode == 'uniform':
            return Selection(mask=torch.ones(batch, self.num_levels, device=device))
        with torch.no_grad(), torch.autocast(device.type, enabled=False):
            budget = torch.full((batch,), float(self.budget), device=device)
            states = self.state_builder(
                context.observed['global'], [f.detach() for f in context.student_feats],
                pooled_gap(self.reward.distiller, context.student_feats,
                           context.teacher_feats), budget)
            greedy = not self.training or self.mode == 'greedy'
            action, log_prob, value = self.policy.select_action(states, deterministic=greedy)
            used = self.reward.cost_model.used_fraction(action)
            if self.training and self.record:
                k = batch if self.score_samples is None else min(self.score_samples, batch)
                self.pending = dict(
                    args=tree_detach(tree_slice(context.observed['args'], 0, k)),
                    teacher_feats=[t[:k].detach() for t in context.teacher_feats],
                    budget=budget[:k], transition=dict(states=states[:k], actions=action[:k],
                                                       log_probs=log_prob[:k],
                                                       values=value[:k]))
        return Selection(mask=action, log_prob=log_prob, info=dict(used_cost=used))

    def finish_transition(self) -> Optional[Dict[str, Tensor]]:
        """Score the last recorded choice; return its transition (``None`` if none).

        Keys ``states [B, S]``, ``actions [B, L]``, ``log_probs``, ``values``, ``rewards``,
        ``improvement``, ``used_cost``, ``saved_cost`` ``[B]``.
        """
        if self.pending is None:
            return None
        pending, self.pending = self.pending, None
        transition = pending['transition']
        with torch.no_grad(), torch.autocast(transition['actions'].device.type, enabled=False):
            reward, info = self.reward.score(pending['args'], pending['teacher_feats'],
                                             transition['actions'], pending['budget'])
        return dict(transition, rewards=reward, **info)
