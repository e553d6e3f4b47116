"""ArchitectureSelector: the shared base of the NAS baselines DARTS-LS and GDAS-LS.

Each searches *one* subset of pyramid levels for all samples (then retrained with
:class:`~rlpkd.models.selectors.FixedSelector`), with architecture parameters α ``[L, 2]``
(:class:`rlpkd.nas.LevelArchitecture`) learned bilevel-wise:

- **weight step** (the student's own optimiser step, every iteration): the distiller
  weights level l's loss by ``r_l(α)`` for every sample — DARTS: ``p(use)_l``; GDAS: a
  hard Gumbel-softmax sample in {0, 1};
- **architecture step** (on collecting iterations, after the weight step): the unrolled
  hypergradient ``∇_α L_val(w − ξ ∇_w L_train(w, α))`` of the student's task loss on a
  held-out batch (:func:`rlpkd.nas.unrolled_hypergradient`), where ``w`` is the module
  that produces the pyramid (e.g. the FPN neck) and

      L_train(w, α) = T_train(w) + distill_weight / L · Σ_l r_l(α) · mean_b D_{b,l}(w)

  is the loss of the weight step on the recorded training samples; the selector returns
  it as an :class:`~rlpkd.learners.ArchitectureExperience`, and the
  :class:`~rlpkd.learners.ArchitectureLearner` adds the cost regulariser and steps α.

The held-out batch reaches the selector through :meth:`ArchitectureSelector.record_validation`,
called by :class:`rlpkd.engine.loops.ArchitectureSearchLoop` with a batch of its own
``arch_dataloader`` before :meth:`collect_experience`.

Modes: ``'search'`` (the method's weights), ``'derived'`` (the derived subset, a hard
mask), ``'uniform'`` (every level: warm-up). Outside training: the derived subset.
"""
from __future__ import annotations

from abc import abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from rlpkd.learners.experience import ArchitectureExperience
from rlpkd.nas.architecture import LevelArchitecture, derive_subset
from rlpkd.nas.unrolled import finite_difference_hypergradient, unrolled_hypergradient
from rlpkd.pyramid.cost_model import LevelCostModel
from rlpkd.pyramid.functional import PyramidFunctional, TaskInputs, autograd_grads
from rlpkd.pyramid.taps import catch
from rlpkd.rl.reward import tree_detach, tree_slice

from .base import LearnedSelector, Selection, SelectionContext

HYPERGRADIENTS = dict(exact=unrolled_hypergradient,
                      finite_difference=finite_difference_hypergradient)


@dataclass
class SearchRecord:
    """What the architecture step needs of a weight step (detached, ``k`` samples).

    Attributes:
        args: the pyramid module's positional inputs ``[k, ...]``.
        teacher_feats: L teacher levels ``[k, C'_l, H_l, W_l]``.
        task: the samples' images and data samples (their task loss).
        weights: ``[L]`` the level weights ``r(α)`` the weight step used.
        extras: what reproduces ``r(α)`` as a function of α (GDAS: noise, τ).
    """

    args: tuple
    teacher_feats: List[Tensor]
    task: Optional[TaskInputs]
    weights: Tensor
    extras: Dict[str, object] = field(default_factory=dict)


class ArchitectureSelector(LearnedSelector):
    """Base of DARTS-LS / GDAS-LS (module docstring). Subclasses implement
    :meth:`search_weights` and :meth:`relaxed_weights`.

    Args:
        budget: cost budget of the derived subset (fraction of the all-level
            distillation FLOPs, :class:`~rlpkd.pyramid.cost_model.LevelCostModel`).
        max_levels: at most this many levels in the derived subset (``None``: any).
        unrolled_lr: ξ of the virtual step; ``None``: the student's current learning
            rate, handed over by the search loop (DARTS sets ξ to the weights' lr).
        distill_weight: the distiller's ``model.distill_weight`` (scales the
            distillation loss of the virtual step as in the weight step).
        hypergradient: ``'exact'`` (torch.func) or ``'finite_difference'`` (DARTS eq. 8).
        task_grad: include the training batch's task-loss gradient in the virtual step
            (DARTS's full ``∇_w L_train``); it moves the point where ``L_val``'s
            gradient is taken, at one more student forward / backward per step.
        init_std: α's initial standard deviation.
    """

    modes = ('search', 'derived', 'uniform')
    method = ''  # e.g. 'DARTS-LS'

    def __init__(self, budget: float = 1.0, max_levels: Optional[int] = None,
                 unrolled_lr: Optional[float] = None, distill_weight: float = 1.0,
                 hypergradient: str = 'exact', task_grad: bool = True,
                 init_std: float = 1e-3) -> None:
        super().__init__()
        if hypergradient not in HYPERGRADIENTS:
            raise ValueError(f'`model.selector.hypergradient` must be one of '
                             f'{sorted(HYPERGRADIENTS)}, got {hypergradient!r}')
        if max_levels is not None and max_levels < 1:
            raise ValueError(f'`model.selector.max_levels` must be >= 1, got {max_levels}')
        self.budget, self.max_levels = float(budget), max_levels
        self.unrolled_lr, self.distill_weight = unrolled_lr, float(distill_weight)
        self.hypergradient, self.task_grad = hypergradient, task_grad
        self.init_std = init_std
        self.progress, self.student_lr = 0.0, None
        self.pending: Optional[SearchRecord] = None
        self.validation: Optional[TaskInputs] = None

    def bind(self, pair) -> None:
        """Build α, the cost model and the functional pyramid module."""
        super().bind(pair)
        self.functional = PyramidFunctional(pair, user='the architecture step')
        self.cost_model = LevelCostModel.from_pair(pair)
        self._build_search(self.cost_model.fractions)

    @classmethod
    def for_levels(cls, level_names: Sequence[str], costs: Sequence[float],
                   **kwargs) -> 'ArchitectureSelector':
        """A selector over named levels with given cost fractions and no pyramid: its
        α, weights, learner interface and result, for synthetic search problems (the
        architecture step's hypergradient then comes from the caller)."""
        selector = cls(**kwargs)
        selector.level_names = tuple(level_names)
        selector._build_search(torch.as_tensor(costs, dtype=torch.float32))
        return selector

    def _build_search(self, costs: Tensor) -> None:
        """α ``[L, 2]`` (frozen outside :meth:`trainable`) and the ``[L]`` cost fractions;
        fails early if no level fits the budget."""
        self.register_buffer('costs', costs.float(), persistent=False)
        self.architecture = LevelArchitecture(self.num_levels, self.init_std)
        self.architecture.requires_grad_(False)
        try:
            derive_subset(-self.costs, self.costs, self.budget, self.max_levels)
        except ValueError as err:
            raise ValueError(f'`model.selector.budget`: {err}') from None

    # ------------------------------------------------ what a method defines
    @abstractmethod
    def search_weights(self) -> Tuple[Tensor, Dict[str, object]]:
        """``([L] level weights of this weight step, extras)`` at the current α."""

    @abstractmethod
    def relaxed_weights(self, alpha: Tensor, extras: Dict[str, object]) -> Tensor:
        """``[L]`` the same weights as a differentiable function of ``alpha``."""

    # ------------------------------------------------ declared interface
    def learnable(self) -> nn.Module:
        return self.architecture

    @contextmanager
    def observe(self) -> Iterator[Dict[str, object]]:
        """Catch the pyramid module's inputs (the virtual step re-runs it)."""
        with catch({'inputs': (self.functional.module, 'inputs')}) as observed:
            yield observed

    def set_search_state(self, progress: float, student_lr: Optional[float] = None) -> None:
        """Called by the search loop every search iteration: the fraction of the search
        done (GDAS anneals τ with it) and the student's learning rate (ξ by default)."""
        self.progress, self.student_lr = float(progress), student_lr

    def record_validation(self, inputs: Tensor, data_samples: list) -> None:
        """The held-out batch (preprocessed) of the next architecture step."""
        self.validation = TaskInputs(inputs.detach(), list(data_samples))

    def use_probability(self) -> Tensor:
        """``[L]`` ``p(use)_l = softmax(α_l)[use]`` (detached)."""
        return self.architecture.use_probability().detach()

    def expected_cost(self) -> Tensor:
        """``Σ_l p(use)_l · cost_l`` (differentiable in α inside :meth:`trainable`):
        the cost regulariser's term, the expected cost fraction of a sampled subset."""
        return (self.architecture.use_probability() * self.costs).sum()

    def derived_levels(self) -> Tuple[str, ...]:
        """The searched subset: levels ranked by ``p(use)`` under the budget."""
        kept = derive_subset(self.architecture.use_probability().detach(), self.costs,
                             self.budget, self.max_levels)
        return tuple(self.level_names[i] for i in kept)

    def search_result(self) -> dict:
        """JSON-ready result: ``method``, ``levels`` (the subset found), ``cost`` (its
        cost fraction), ``alpha`` ``[L][2]``, ``p_use`` and ``level_costs`` by level,
        ``budget``, ``max_levels``."""
        levels = self.derived_levels()
        p_use = self.architecture.use_probability().detach().cpu().tolist()
        costs = self.costs.cpu().tolist()
        return dict(method=self.method, levels=list(levels),
                    cost=sum(c for n, c in zip(self.level_names, costs) if n in levels),
                    alpha=self.architecture.alpha.detach().cpu().tolist(),
                    p_use=dict(zip(self.level_names, p_use)),
                    level_costs=dict(zip(self.level_names, costs)),
                    budget=self.budget, max_levels=self.max_levels)

    # ------------------------------------------------ forward
    def derived_mask(self) -> Tensor:
        """``[L]`` 1 on the derived subset."""
        kept = set(self.derived_levels())
        return self.costs.new_tensor([float(n in kept) for n in self.level_names])

    def forward(self, context: SelectionContext) -> Selection:
        batch = context.batch_size
        record = self.take_request(batch) if self.training else 0
        mode = self.mode if self.training else 'derived'
        if mode == 'uniform':
            weights = self.costs.new_ones(self.num_levels)
        elif mode == 'derived':
            weights = self.derived_mask()
        else:
            with torch.no_grad():
                weights, extras = self.search_weights()
            if record:
                self.pending = self._record(context, record, weights, extras)
        mask = weights.to(context.student_feats[0].device).expand(batch, -1)
        return Selection(mask=mask, info=dict(used_cost=mask.float() @ self.costs))

    def _record(self, context: SelectionContext, k: int, weights: Tensor,
                extras: Dict[str, object]) -> SearchRecord:
        if 'inputs' not in context.observed:
            raise RuntimeError('the student forward did not run the pyramid module inside '
                               'the selector\'s observe()')
        task = None
        if self.task_grad:
            if context.inputs is None or context.data_samples is None:
                raise RuntimeError('task_grad=True needs the batch\'s images and data '
                                   'samples in the selection context')
            task = TaskInputs(context.inputs, list(context.data_samples)).head(k)
        # float32: under AMP the caught features may be half precision, while the
        # architecture step runs outside autocast on the float32 parameters
        return SearchRecord(
            tree_detach(tree_slice(context.observed['inputs'], 0, k), torch.float32),
            [t[:k].detach().float() for t in context.teacher_feats], task,
            weights.detach(), extras)

    # ------------------------------------------------ architecture step
    def virtual_lr(self) -> float:
        lr = self.unrolled_lr if self.unrolled_lr is not None else self.student_lr
        if lr is None:
            raise RuntimeError('no virtual step size: set `model.selector.unrolled_lr`, or '
                               'train with rlpkd.ArchitectureSearchLoop (it hands over the '
                               "student's learning rate)")
        return float(lr)

    def arch_loss(self, record: SearchRecord, params: Dict[str, Tensor],
                  alpha: Tensor) -> Tensor:
        """The α-dependent part of ``L_train``: ``distill_weight / L · Σ_l r_l(α) ·
        mean_b D_{b,l}(w)`` on the recorded samples."""
        losses = self.functional.level_losses(params, record.args, record.teacher_feats)
        weights = self.relaxed_weights(alpha, record.extras)
        return self.distill_weight / self.num_levels * (weights * losses.mean(dim=0)).sum()

    def collect_experience(self) -> Optional[ArchitectureExperience]:
        """The hypergradient of the recorded weight step on the held-out batch (``None``
        if no search step was recorded)."""
        if self.pending is None:
            return None
        if self.validation is None:
            raise RuntimeError(f'{type(self).__name__}: no held-out batch for the '
                               'architecture step; call record_validation() first '
                               '(rlpkd.ArchitectureSearchLoop does, from its arch_dataloader)')
        record, val = self.pending, self.validation
        self.pending = self.validation = None
        functional = self.functional
        with functional.context():
            params, base = functional.params(), None
            if record.task is not None:
                base = autograd_grads(lambda p: functional.task_loss(p, record.task),
                                      params)[1]
            hyper, info = HYPERGRADIENTS[self.hypergradient](
                lambda p, a: self.arch_loss(record, p, a),
                lambda p: functional.task_loss(p, val), params,
                self.architecture.alpha.detach(), self.virtual_lr(), base)
        return ArchitectureExperience(hypergradient=hyper[None],
                                      val_loss=info['val_loss'].reshape(1),
                                      weights=record.weights[None])
