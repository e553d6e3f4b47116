"""ArchitectureSearchLoop: the phase loop of the NAS baselines (DARTS-LS, GDAS-LS).

A :class:`PhaseTrainLoop` whose learning phases are the *search*: every iteration the
student's weight step runs as usual; on collecting iterations the loop draws a batch of
its own ``arch_dataloader`` (the held-out split), hands it to the selector
(:meth:`ArchitectureSelector.record_validation`) and lets the learner take the
architecture step. It also tells the selector how far the search is
(:meth:`ArchitectureSelector.set_search_state`: GDAS anneals τ with it; the student's
learning rate is the default virtual step ξ), times the search, and at the end writes
``work_dir/search_result.json`` (:meth:`ArchitectureSelector.search_result`) and
``work_dir/search_cost.json``.
"""
from __future__ import annotations

import json
import os.path as osp
import time
from typing import Dict, List, Optional, Tuple, Union

from mmengine import dist
from mmengine.model import is_model_wrapper
from torch.utils.data import DataLoader

from rlpkd.models.selectors import ArchitectureSelector
from rlpkd.registry import LOOPS
from rlpkd.utils import world_size

from .phase_loop import Phase, PhaseTrainLoop

LOOP_KEY = '__search_loop__'  # the loop's own entry in the learners' checkpoint state


@LOOPS.register_module()
class ArchitectureSearchLoop(PhaseTrainLoop):
    """Phases as :class:`PhaseTrainLoop`; phases with a learner search (module docstring).

    Args:
        runner, dataloader, phases, learners, val_begin, val_interval,
            dynamic_intervals: as :class:`PhaseTrainLoop`.
        arch_dataloader: the held-out dataloader (or its config) of the architecture
            steps: a split of the training set disjoint from ``dataloader``'s.

    Raises:
        TypeError: the model's selector is no ``ArchitectureSelector``.
        ValueError: a phase with a learner does not use the selector's ``'search'`` mode.
    """

    def __init__(self, runner, dataloader: Union[DataLoader, Dict], phases: List[dict],
                 arch_dataloader: Union[DataLoader, Dict],
                 learners: Optional[Dict[str, dict]] = None, val_begin: int = 1,
                 val_interval: int = 1, dynamic_intervals=None) -> None:
        super().__init__(runner, dataloader, phases, learners, val_begin, val_interval,
                         dynamic_intervals)
        if not isinstance(self.selector, ArchitectureSelector):
            raise TypeError('ArchitectureSearchLoop needs an architecture model.selector '
                            "(e.g. dict(type='rlpkd.DARTSSelector')), got "
                            f'{type(self.selector).__name__}')
        for phase in self.phases:
            if phase.learner is not None and phase.mode != 'search':
                raise ValueError(f'train_cfg.phases: phase {phase.name!r} names learner '
                                 f"{phase.learner!r} but mode={phase.mode!r}; search "
                                 "phases need mode='search'")
        if not isinstance(arch_dataloader, DataLoader):
            arch_dataloader = runner.build_dataloader(arch_dataloader, seed=runner.seed)
        self.arch_dataloader = arch_dataloader
        self._arch_batches = None
        self._arch_epoch = self._arch_drawn = 0  # held-out stream position (resumed)
        self.clock = dict(search_seconds=0.0, search_iterations=0, other_seconds=0.0,
                          other_iterations=0)

    # ------------------------------------------------ search progress
    def search_span(self) -> Tuple[int, List[Tuple[int, int]]]:
        """``(total, ranges)``: iterations of the phases with a learner, and their
        ``[start, end)`` ranges."""
        ranges = [(self.phase_start(p), end) for p, end in zip(self.phases, self.boundaries)
                  if p.learner is not None]
        return sum(e - s for s, e in ranges), ranges

    def search_progress(self, iteration: int) -> float:
        """Fraction of the search done before ``iteration``: 0 at the first search
        iteration, 1 at the last."""
        total, ranges = self.search_span()
        done = sum(min(max(iteration - s, 0), e - s) for s, e in ranges)
        return done / max(total - 1, 1)

    def student_lr(self) -> float:
        """The student optimiser's current learning rate (its first parameter group)."""
        lrs = self.runner.optim_wrapper.get_lr()
        return float(next(iter(lrs.values()))[0])

    # ------------------------------------------------ iterations
    def run_iter(self, idx: int, data_batch) -> None:
        phase = self.phase_at(self._iter)
        if phase.learner is not None:
            self.selector.set_search_state(self.search_progress(self._iter),
                                           self.student_lr())
        start = time.perf_counter()
        super().run_iter(idx, data_batch)
        kind = 'search' if phase.learner is not None else 'other'
        self.clock[f'{kind}_seconds'] += time.perf_counter() - start
        self.clock[f'{kind}_iterations'] += 1

    def learn(self, phase: Phase) -> None:
        """Hand the selector a held-out batch, then the usual collect / update."""
        inputs, data_samples = self.next_arch_batch()
        self.selector.record_validation(inputs, data_samples)
        super().learn(phase)

    def next_arch_batch(self) -> tuple:
        """The next batch of ``arch_dataloader`` (endless; a new sampler epoch when it
        is exhausted), through the model's data preprocessor: ``(inputs, data_samples)``."""
        if self._arch_batches is None:
            self._open_arch_epoch(skip=self._arch_drawn)
        try:
            batch = next(self._arch_batches)
        except StopIteration:
            self._arch_epoch += 1
            self._open_arch_epoch()
            batch = next(self._arch_batches)
        self._arch_drawn += 1
        model = self.runner.model.module if is_model_wrapper(self.runner.model) \
            else self.runner.model
        data = model.data_preprocessor(batch, True)
        return data['inputs'], data['data_samples']

    def _open_arch_epoch(self, skip: int = 0) -> None:
        """Start epoch ``_arch_epoch`` of the held-out stream; after a resume, skip the
        ``skip`` batches it had already drawn (they are loaded once more)."""
        sampler = getattr(self.arch_dataloader, 'sampler', None)
        batch_sampler = getattr(self.arch_dataloader, 'batch_sampler', None)
        for s in (sampler, getattr(batch_sampler, 'sampler', None)):
            if hasattr(s, 'set_epoch'):
                s.set_epoch(self._arch_epoch)
        self._arch_batches = iter(self.arch_dataloader)
        for _ in range(skip):
            next(self._arch_batches)
        self._arch_drawn = skip

    # ------------------------------------------------ results
    def run(self):
        model = super().run()
        self.write_results()
        return model

    def write_results(self) -> None:
        """``search_result.json`` and ``search_cost.json`` in the work dir (rank 0)."""
        if dist.get_rank() != 0:
            return
        devices = world_size()
        cost = dict(self.clock, devices=devices,
                    search_device_hours=self.clock['search_seconds'] * devices / 3600)
        for name, content in (('search_result.json', self.selector.search_result()),
                              ('search_cost.json', cost)):
            with open(osp.join(self.runner.work_dir, name), 'w') as f:
                json.dump(content, f, indent=2)
        self.runner.logger.info(f'search result: {self.selector.search_result()}')

    # ------------------------------------------------ checkpoint (clock, held-out stream)
    def learner_state_dict(self) -> dict:
        own = dict(clock=dict(self.clock), arch_epoch=self._arch_epoch,
                   arch_drawn=self._arch_drawn)
        return dict(super().learner_state_dict(), **{LOOP_KEY: own})

    def load_learner_state_dict(self, state: dict) -> None:
        state = dict(state)
        own = state.pop(LOOP_KEY, None)
        if own is not None:
            self.clock.update(own['clock'])
            self._arch_epoch, self._arch_drawn = own['arch_epoch'], own['arch_drawn']
            self._arch_batches = None
        super().load_learner_state_dict(state)
