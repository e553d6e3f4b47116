"""The level-selector interface: pyramid state in, per-sample level mask out.

Every strategy is a ``LevelSelector``: static rules (:mod:`.static`) and learned
selectors (:class:`LearnedSelector`: the RL policy; the NAS baselines follow the same
interface). The distiller calls it once per iteration with a :class:`SelectionContext`
and computes the distillation loss of a (sample, level) pair only where the returned
mask is non-zero. A learned selector also records what it experienced, for a learner
(:mod:`rlpkd.learners`) to turn into an update; the phase loop drives it only through
the methods declared here.
"""
from __future__ import annotations

import sys
from abc import abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Sequence, Tuple, Type

from mmengine.model import BaseModule
from torch import Tensor, nn

from rlpkd.learners.experience import Experience

if TYPE_CHECKING:
    from rlpkd.pyramid import PyramidPair


@dataclass
class SelectionContext:
    """What a selector may look at.

    Attributes:
        student_feats: L tensors ``[B, C_l, H_l, W_l]`` (connectors not yet applied).
        teacher_feats: L tensors ``[B, C'_l, H_l, W_l]`` (no gradient); ``None`` for a
            selector that :attr:`~LevelSelector.decides_before_teacher`.
        level_names: the L level names, e.g. ``('P2', 'P3', 'P4', 'P5')``.
        observed: what the selector's :meth:`LevelSelector.observe` caught during the
            student's forward pass (empty for static selectors).
        inputs: ``[B, C, H, W]`` the preprocessed batch (for rewards that re-run the
            student); ``None`` where unknown.
        data_samples: the batch's data samples (ground truth, metainfo), or ``None``.
    """

    student_feats: List[Tensor]
    teacher_feats: Optional[List[Tensor]]
    level_names: Sequence[str]
    observed: Dict[str, object] = field(default_factory=dict)
    inputs: Optional[Tensor] = None
    data_samples: Optional[list] = None

    @property
    def batch_size(self) -> int:
        return self.student_feats[0].shape[0]


@dataclass
class Selection:
    """A selector's decision for one batch.

    Attributes:
        mask: ``[B, L]`` level weights; 0 drops the pair, 1 keeps it (soft values
            are allowed for continuous relaxations).
        log_prob: ``[B]`` log-probability of the sampled mask, for stochastic selectors.
        info: per-sample extras ``[B]`` a selector reports (e.g. ``used_cost``); the
            distiller attaches them to predictions for the evaluation metrics.
        teacher_needed: ``[B]`` bool, the samples whose teacher pyramid the selector
            needs after deciding (e.g. to score them); ``None``: those with a kept level.
    """

    mask: Tensor
    log_prob: Optional[Tensor] = None
    info: Dict[str, Tensor] = field(default_factory=dict)
    teacher_needed: Optional[Tensor] = None

    def needs_teacher(self) -> Tensor:
        """``[B]`` bool: the samples the teacher must run on (a kept level, or
        :attr:`teacher_needed`); the others' teacher forward is skipped when the
        selector :attr:`~LevelSelector.decides_before_teacher`."""
        kept = (self.mask != 0).any(dim=1)
        return kept if self.teacher_needed is None else kept | self.teacher_needed


class LevelSelector(BaseModule):
    """Base class of level selectors. Subclasses implement :meth:`forward`.

    The distiller calls :meth:`bind` once it is built, so a selector can validate its
    config and size itself early, and wraps the student's forward pass in
    :meth:`observe`, so a selector can catch more than the pyramid.
    """

    level_names: Sequence[str] = ()
    #: whether predictions should carry this selector's (deterministic) decisions;
    #: costs a teacher forward pass at test time, so only learned selectors say yes.
    reports_selection: bool = False

    @property
    def decides_before_teacher(self) -> bool:
        """Whether :meth:`forward` decides without the teacher pyramid (the context's
        ``teacher_feats`` is ``None``); the distiller then runs the teacher only on the
        samples the selection needs (:meth:`Selection.needs_teacher`) and hands their
        pyramid to :meth:`attach_teacher`."""
        return False

    def attach_teacher(self, teacher_feats: List[Tensor], index: Tensor) -> None:
        """After a decision made before the teacher ran: the teacher pyramid (L tensors
        ``[K, C'_l, H_l, W_l]``) of the samples ``index`` ``[K]`` (ascending) of the batch."""

    def bind(self, pair: 'PyramidPair') -> None:
        """Learn the pyramid this selector serves (:class:`rlpkd.models.PyramidPair`:
        level names, taps, connectors, level loss, the build-time probe)."""
        self.level_names = tuple(pair.level_names)

    @contextmanager
    def observe(self) -> Iterator[Dict[str, object]]:
        """Active during the student's forward pass; yields what it caught (nothing)."""
        yield {}

    @property
    def num_levels(self) -> int:
        return len(self.level_names)

    @abstractmethod
    def forward(self, context: SelectionContext) -> Selection:
        """Return the :class:`Selection` for ``context``."""


class LearnedSelector(LevelSelector):
    """A selector with parameters that a learner updates from recorded experience.

    Declared interface (what the phase loop and the learners call):

    - :meth:`set_mode`: how the next training forwards decide (:attr:`modes`);
    - :meth:`request_experience` before a training step, :meth:`collect_experience`
      after it: the record of that step's decisions (scored after the student's
      optimiser step, so scoring never adds to the student's autograd graph);
    - :meth:`learnable` and :meth:`trainable`: the module a learner updates, and the
      block inside which it may compute gradients (the student's optimiser never sees
      it: its parameters have ``requires_grad=False`` outside).

    Outside training (``eval()``) a learned selector always decides deterministically.
    """

    reports_selection = True
    #: decision modes of training forwards; the first one is the default
    modes: Tuple[str, ...] = ('sample', 'greedy', 'uniform')

    def __init__(self, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.mode = self.modes[0]
        self._request: Optional[int] = None  # samples to record in the next forward

    def set_mode(self, mode: str) -> None:
        """Decide the next training forwards in ``mode`` (one of :attr:`modes`)."""
        if mode not in self.modes:
            raise ValueError(f'{type(self).__name__} has no mode {mode!r}; modes: '
                             f'{self.modes}')
        self.mode = mode

    def request_experience(self, num_samples: Optional[int] = None) -> None:
        """Record the decisions of the next training forward: its first ``num_samples``
        samples (``None``: all; the training sampler shuffles, so they are a random
        subset). :meth:`collect_experience` returns the record."""
        if num_samples is not None and num_samples < 1:
            raise ValueError(f'num_samples must be >= 1 or None, got {num_samples}')
        self._request = sys.maxsize if num_samples is None else num_samples

    def take_request(self, batch_size: int) -> int:
        """For subclasses' training forward: how many leading samples of this batch to
        record (0: no request). A request is served once."""
        request, self._request = self._request, None
        return 0 if request is None else min(request, batch_size)

    @abstractmethod
    def collect_experience(self) -> Optional[Experience]:
        """The scored record of the last requested forward (``None`` if there is none)."""

    def experience_type(self) -> Optional[Type[Experience]]:
        """The record type :meth:`collect_experience` returns, checked against a
        learner's at build (``None``: not declared, no check)."""
        return None

    @abstractmethod
    def learnable(self) -> nn.Module:
        """The module whose parameters a learner updates (e.g. the policy)."""

    @contextmanager
    def trainable(self) -> Iterator[nn.Module]:
        """Inside the block :meth:`learnable` has ``requires_grad=True``; its gradients
        are cleared and it is frozen again on exit."""
        module = self.learnable()
        module.requires_grad_(True)
        try:
            yield module
        finally:
            module.zero_grad(set_to_none=True)
            module.requires_grad_(False)
