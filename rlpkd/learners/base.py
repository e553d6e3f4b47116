"""The learner interface: experience of a learned selector in, parameter updates out.

A learner is built by the phase loop for one :class:`~rlpkd.models.selectors.
LearnedSelector` (``train_cfg.learners``), receives the selector's experience records
(:meth:`Learner.add`), and on the loop's request turns the pending ones into an update
of :meth:`LearnedSelector.learnable` (:meth:`Learner.update`). It owns its optimiser
and whatever else continuing needs, in :meth:`Learner.state_dict` (saved in mmengine
checkpoints by :class:`rlpkd.engine.hooks.RLCheckpointHook`).

Adding a learner: subclass, set :attr:`experience_type`, implement :meth:`learn` (and
:meth:`state_dict` / :meth:`load_state_dict` for the optimiser), register it in
``LEARNERS``; see docs/ARCHITECTURE.md.
"""
from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Dict, List, Optional, Type

import torch
from mmengine.logging import print_log

from rlpkd.utils import check_identical_over_ranks, mean_over_ranks

from .experience import Experience


class Learner(metaclass=ABCMeta):
    """Base class of learners (see the module docstring).

    Args:
        selector: the learned selector whose :meth:`learnable` module this learner
            updates (filled in by the phase loop).
    """

    #: the experience record this learner consumes
    experience_type: Type[Experience] = Experience
    #: prefix of the logged statistics (``rl`` -> ``train/rl/reward``)
    log_prefix: str = 'learner'

    def __init__(self, selector) -> None:
        provided = selector.experience_type()
        if provided is not None and not issubclass(provided, self.experience_type):
            raise TypeError(f'{type(self).__name__} (train_cfg.learners) learns from '
                            f'{self.experience_type.__name__}; {type(selector).__name__} '
                            f'(model.selector) as configured records {provided.__name__}')
        self.selector = selector
        self.pending: List[Experience] = []
        #: the learner's optimiser, if it has one (its state is in :meth:`state_dict`)
        self.optimizer: Optional[torch.optim.Optimizer] = None

    @property
    def num_pending(self) -> int:
        """Records (one per collecting training step) waiting for the next update."""
        return len(self.pending)

    def add(self, experience: Experience) -> None:
        """Keep one record for the next :meth:`update`."""
        if not isinstance(experience, self.experience_type):
            raise TypeError(f'{type(self).__name__} learns from '
                            f'{self.experience_type.__name__}, got {type(experience).__name__}')
        self.pending.append(experience)

    def update(self) -> Dict[str, float]:
        """Learn from every pending record, then drop them.

        Under DDP every rank holds its own records; :meth:`learn` must keep the
        learnable module identical on all ranks (checked here after each update: a
        mismatch raises). Returns :meth:`learn`'s statistics averaged over ranks,
        keyed ``<log_prefix>/<name>``.
        """
        if not self.pending:
            raise RuntimeError(f'{type(self).__name__}.update: no experience collected')
        batch = self.experience_type.cat(self.pending)
        self.pending = []
        stats = self.learn(batch)
        summary = check_identical_over_ranks(self.selector.learnable().parameters())
        if summary is not None:
            print_log(f'{type(self).__name__}: learnable parameters identical on '
                      f'{summary}', logger='current')
        names = list(stats)
        reduced = mean_over_ranks([torch.as_tensor(stats[k], dtype=torch.float32)
                                   for k in names])
        return {f'{self.log_prefix}/{k}': float(v) for k, v in zip(names, reduced)}

    @abstractmethod
    def learn(self, experience: Experience) -> Dict[str, float]:
        """One update from ``experience`` (all pending records, concatenated); returns
        scalar statistics of this rank."""

    def check_update_size(self, num_samples: int, where: str) -> None:
        """Fail early if an update of ``num_samples`` samples cannot work; ``where``
        names the config entry that implies the size. Default: anything goes."""

    def state_dict(self) -> dict:
        """Pending records and the :attr:`optimizer`'s state (subclasses add the rest)."""
        state = dict(pending=[r.state_dict() for r in self.pending])
        if self.optimizer is not None:
            state['optimizer'] = self.optimizer.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        device = next(self.selector.learnable().parameters()).device
        self.pending = [self.experience_type(**r).to(device) for r in state['pending']]
        if self.optimizer is not None:
            self.optimizer.load_state_dict(state['optimizer'])
