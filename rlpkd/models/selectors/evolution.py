"""EvolutionSelector: EA-LS's selector, the current candidate's per-level loss weights.

EA-LS searches per-level distillation-loss weights (one of ``choices`` per level, weight
0 = the level is not distilled) with regularised (aging) evolution (Real et al., AAAI
2019; :class:`rlpkd.nas.RegularizedEvolution`), driven by
:class:`rlpkd.learners.architecture.EvolutionLearner` in
:class:`rlpkd.engine.loops.evolution_loop.EvolutionSearchLoop`:

- the learner proposes a candidate and sets its weights here (:meth:`set_candidate`);
- the loop trains the student a few iterations with them (mode ``'search'``: the mask
  ``[B, L]`` is the candidate's weights for every sample);
- the loop hands the held-out batches to :meth:`record_validation` (the student's task
  loss, eval mode, a fixed seed: every candidate is scored on the same images with the
  same proposal / RoI sampling), and :meth:`collect_experience` returns the mean as a
  :class:`~rlpkd.learners.experience.FitnessExperience`, from which the learner computes the
  fitness and proposes the next candidate.

Modes: ``'search'`` (the candidate), ``'derived'`` (the fittest weights so far, set by
the learner: :meth:`set_best`), ``'uniform'`` (every level, weight 1: warm-up).
Outside training: ``'derived'``.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import torch
from torch import Tensor, nn

from rlpkd.learners.experience import FitnessExperience
from rlpkd.nas.evolution import DEFAULT_CHOICES
from rlpkd.pyramid.cost_model import LevelCostModel
from rlpkd.pyramid.functional import TaskInputs, fixed_seed_task_loss
from rlpkd.registry import MODELS

from .base import LearnedSelector, Selection, SelectionContext


class HeldOutTaskLoss:
    """The student's task loss (sum of its loss terms) on a batch, without gradient, in
    eval mode and at a fixed seed (the same proposal / RoI sampling at every call); the
    global random state is left untouched. A plain object (not a submodule): the
    selector does not own the student."""

    def __init__(self, student: nn.Module, seed: int = 0) -> None:
        self.student, self.seed = student, seed

    def __call__(self, task: TaskInputs) -> Tensor:
        with torch.no_grad():
            return fixed_seed_task_loss(self.student, task, self.seed).detach()


class LevelWeights(nn.Module):
    """The candidate's level weights ``[L]``: a parameter (so the learner's check keeps it
    identical on every rank) that no gradient ever reaches (``requires_grad=False``)."""

    def __init__(self, num_levels: int) -> None:
        super().__init__()
        self.weights = nn.Parameter(torch.ones(num_levels), requires_grad=False)


def level_choices(choices: Sequence, num_levels: int) -> List[tuple]:
    """``choices`` (one sequence of weights for every level, or ``L`` of them) as ``L``
    tuples; errors name ``model.selector.choices``."""
    per_level = [choices] * num_levels if all(isinstance(c, (int, float)) for c in choices) \
        else list(choices)
    if len(per_level) != num_levels:
        raise ValueError(f'`model.selector.choices` has {len(per_level)} per-level lists; '
                         f'the pyramid has {num_levels} levels')
    out = [tuple(float(w) for w in c) for c in per_level]
    for c in out:
        if len(set(c)) < 2 or min(c) < 0:
            raise ValueError(f'`model.selector.choices`: every level needs >= 2 distinct '
                             f'non-negative weights, got {c}')
    return out


@MODELS.register_module()
class EvolutionSelector(LearnedSelector):
    """EA-LS's selector (module docstring).

    Args:
        choices: the loss weights a level may get, for every level (default
            ``(0, 0.5, 1, 2)``: 4^L candidates) or one sequence per level.
        fitness_seed: the seed of the held-out task loss's sampling.
    """

    modes = ('search', 'derived', 'uniform')
    method = 'EA-LS'

    def __init__(self, choices: Sequence = DEFAULT_CHOICES, fitness_seed: int = 0) -> None:
        super().__init__()
        self.choices_cfg, self.fitness_seed = choices, fitness_seed
        self.task_loss: Optional[HeldOutTaskLoss] = None
        self._val_sum, self._val_count = 0.0, 0

    def bind(self, pair) -> None:
        super().bind(pair)
        self.task_loss = HeldOutTaskLoss(pair.student, self.fitness_seed)
        self._build_search(LevelCostModel.from_pair(pair).fractions)

    @classmethod
    def for_levels(cls, level_names: Sequence[str], costs: Sequence[float],
                   **kwargs) -> 'EvolutionSelector':
        """A selector over named levels with given cost fractions and no pyramid (for
        synthetic searches: the fitness then comes from the caller)."""
        selector = cls(**kwargs)
        selector.level_names = tuple(level_names)
        selector._build_search(torch.as_tensor(costs, dtype=torch.float32))
        return selector

    def _build_search(self, costs: Tensor) -> None:
        """The per-level choices, the ``[L]`` cost fractions, the candidate and the
        fittest weights (both all ones until the learner sets them)."""
        self.choices = level_choices(self.choices_cfg, self.num_levels)
        self.register_buffer('costs', costs.float(), persistent=False)
        self.candidate = LevelWeights(self.num_levels)
        self.register_buffer('best', torch.ones(self.num_levels))

    # ------------------------------------------------ declared interface
    def learnable(self) -> nn.Module:
        return self.candidate

    def set_candidate(self, weights: Sequence[float]) -> None:
        """The weights ``[L]`` of the next training forwards in mode ``'search'``."""
        self.candidate.weights.data.copy_(torch.as_tensor(weights, dtype=torch.float32))

    def set_best(self, weights: Sequence[float]) -> None:
        """The fittest weights ``[L]`` so far (mode ``'derived'``, evaluation)."""
        self.best.copy_(torch.as_tensor(weights, dtype=torch.float32))

    def cost(self, weights: Tensor) -> Tensor:
        """Cost fraction of the levels ``weights`` ``[..., L]`` distil (non-zero)."""
        return weights.ne(0).float() @ self.costs.to(weights.device)

    def record_validation(self, inputs: Tensor, data_samples: list) -> None:
        """Add a held-out batch (preprocessed) to the current candidate's score."""
        loss = self.task_loss(TaskInputs(inputs, list(data_samples)))
        self._val_sum += float(loss) * len(data_samples)
        self._val_count += len(data_samples)

    def collect_experience(self) -> Optional[FitnessExperience]:
        """The candidate's mean held-out task loss and cost (``None`` if no held-out
        batch was recorded since the last call)."""
        if self._val_count == 0:
            return None
        weights = self.candidate.weights.detach().clone()
        val_loss = weights.new_tensor([self._val_sum / self._val_count])
        self._val_sum, self._val_count = 0.0, 0
        return FitnessExperience(weights=weights[None], val_loss=val_loss,
                                 cost=self.cost(weights).reshape(1))

    def search_result(self) -> dict:
        """JSON-ready: ``method``, ``levels`` (non-zero weight in the fittest
        candidate), ``level_weights`` (their weights), ``cost``, ``level_costs``,
        ``choices`` by level."""
        names, best = self.level_names, self.best.cpu().tolist()
        return dict(method=self.method, levels=[n for n, w in zip(names, best) if w != 0],
                    level_weights={n: w for n, w in zip(names, best) if w != 0},
                    cost=float(self.cost(self.best.cpu())),
                    level_costs=dict(zip(names, self.costs.cpu().tolist())),
                    choices=dict(zip(names, self.choices)))

    # ------------------------------------------------ forward
    def forward(self, context: SelectionContext) -> Selection:
        mode = self.mode if self.training else 'derived'
        if mode == 'search':
            row = self.candidate.weights.detach()
        elif mode == 'derived':
            row = self.best
        else:
            row = self.costs.new_ones(self.num_levels)
        mask = row.to(context.student_feats[0].device).expand(context.batch_size, -1)
        return Selection(mask=mask, info=dict(used_cost=self.cost(mask)))
