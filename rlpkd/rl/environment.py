"""The level-selection MDP on real teacher / student pyramids, as an environment.

Episode: one sample. Its L include/skip decisions (one per level) are made by the
policy level by level (:class:`rlpkd.rl.policy.PolicyNetwork`); the environment scores
the finished selection with :class:`rlpkd.rl.reward.LookaheadReward` (measured
improvement of the student + λ · cost saved) and the episode ends.

Inside training, :class:`rlpkd.models.selectors.RLSelector` runs the same state builder
and reward on the batches the student trains on; these classes are the standalone form
(the prototype's ``reset`` / ``step`` API) for analysis and tests.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import torch
from torch import Tensor, nn

from .reward import LookaheadReward
from .state import StateBuilder, pooled_gap


class ParallelDistillationEnv:
    """The MDP over every sample of a batch at once (no Python loop over samples).

    Args:
        distiller: a built :class:`rlpkd.models.PyramidDistiller`.
        lambda_tradeoff: λ, weight of the saved cost in the reward.
        budget: cost budget as a fraction of the all-level cost (1 = unconstrained).
        global_dim: size of the global block of the state.
        **reward_kwargs: ``lookahead_lr``, ``over_budget_penalty``, ``global_module``,
            ``probe_size``, ``lookahead_max_drop``, ``lookahead_chunk`` of
            :class:`LookaheadReward`.
    """

    def __init__(self, distiller: nn.Module, lambda_tradeoff: float = 0.5,
                 budget: float = 1.0, global_dim: int = 512, **reward_kwargs) -> None:
        self.distiller = distiller
        self.reward = LookaheadReward(distiller, lambda_tradeoff, **reward_kwargs)
        self.budget = budget
        self.state_builder = StateBuilder(self.reward.probe['level_channels'],
                                          self.reward.probe['global_channels'], global_dim)
        self.state_builder.to(next(distiller.parameters()).device)
        self._context: Optional[dict] = None

    @property
    def level_names(self) -> Tuple[str, ...]:
        return self.reward.level_names

    @property
    def cost_model(self):
        return self.reward.cost_model

    @property
    def state_dim(self) -> int:
        return self.state_builder.state_dim

    @torch.no_grad()
    def reset(self, inputs: Tensor, budget: Optional[Tensor] = None) -> Tensor:
        """Observe a batch of preprocessed images ``[B, 3, H, W]``; return states ``[B, S]``."""
        d = self.distiller
        with self.reward.observe() as caught, d.student_tap.record() as student_feats:
            d.student.extract_feat(inputs)
        with d.teacher_tap.record() as teacher_feats:
            d.teacher.extract_feat(inputs)
        batch, levels = inputs.shape[0], len(self.level_names)
        gap = d.pair_losses(student_feats, teacher_feats, inputs.new_ones(batch, levels))
        budget = inputs.new_full((batch,), self.budget) if budget is None else budget
        states = self.state_builder(caught['global'], student_feats,
                                    pooled_gap(d, student_feats, teacher_feats), budget)
        self._context = dict(args=caught['args'], teacher=teacher_feats, budget=budget,
                             gap=gap.sum(dim=1), states=states)
        return states

    def step(self, action: Tensor) -> Tuple[Tensor, Tensor, Tensor, dict]:
        """Score the selections ``action`` ``[B, L]`` in {0, 1}.

        Returns ``(next_state [B, S], reward [B], done [B], info)``; every episode ends
        here (``done`` all ones). ``info``: ``selected_layers`` (names per sample),
        ``distill_loss`` ``[B]`` (all-level gap before the step), ``used_cost`` /
        ``saved_cost`` / ``improvement`` ``[B]``.
        """
        if self._context is None:
            raise RuntimeError('call reset() before step()')
        ctx, self._context = self._context, None
        reward, info = self.reward.score(ctx['args'], ctx['teacher'], action, ctx['budget'])
        info.update(selected_layers=self.selected_layers(action), distill_loss=ctx['gap'])
        return ctx['states'], reward, torch.ones_like(reward), info

    def selected_layers(self, action: Tensor) -> List[List[str]]:
        return [[n for n, a in zip(self.level_names, row) if a > 0] for row in action.tolist()]


class DistillationEnvironment:
    """The same MDP one sample at a time: the prototype's ``reset`` / ``step`` API.

    ``reset(sample [3, H, W]) -> state [S]``; ``step(action [L]) -> (state, reward: float,
    done: bool, info)`` with ``info['selected_layers']`` such as ``['P2', 'P4', 'P5']`` and
    float ``distill_loss``, ``used_cost``, ``saved_cost``, ``improvement``.
    The prototype took ``(teacher, student)``; here a distiller carries both, plus the
    taps, connectors and level loss that define the pyramid. Arguments as
    :class:`ParallelDistillationEnv`.
    """

    def __init__(self, distiller: nn.Module, lambda_tradeoff: float = 0.5, **kwargs) -> None:
        self.env = ParallelDistillationEnv(distiller, lambda_tradeoff, **kwargs)

    @property
    def state_dim(self) -> int:
        return self.env.state_dim

    def reset(self, sample: Tensor) -> Tensor:
        return self.env.reset(sample.unsqueeze(0) if sample.dim() == 3 else sample)[0]

    def step(self, action: Tensor) -> Tuple[Tensor, float, bool, dict]:
        state, reward, done, info = self.env.step(action.reshape(1, -1))
        info = {k: (v[0] if isinstance(v, list) else float(v[0])) for k, v in info.items()}
        return state[0], float(reward[0]), bool(done[0]), info
