"""The search loops of the NAS baselines: a held-out stream and a result file on top of
:class:`PhaseTrainLoop`.

- :class:`HeldOutSearchLoop`: the shared base. Its learning phases are the *search*
  (mode ``'search'``); it owns ``arch_dataloader`` (the held-out split of the training
  set, :class:`rlpkd.nas.HeldOutSplitSampler`), whose batches it hands to the selector
  (``selector.record_validation``), and at the end writes
  ``work_dir/search_result.json`` (:meth:`HeldOutSearchLoop.search_result`) beside the
  phase loop's ``search_cost.json``.
- :class:`ArchitectureSearchLoop` (DARTS-LS, GDAS-LS): every iteration the student's
  weight step runs as usual; on collecting iterations the loop draws the next held-out
  batch (an endless stream, its position resumed) and lets the learner take the
  architecture step. It also tells the selector how far the search is
  (:meth:`ArchitectureSelector.set_search_state`: GDAS anneals τ with it; the student's
  learning rate is the default virtual step ξ).

EA-LS's loop is :class:`rlpkd.engine.loops.evolution_loop.EvolutionSearchLoop`.
"""
from __future__ import annotations

import json
import os.path as osp
from itertools import islice
from typing import Dict, Iterator, List, Optional, Tuple, Type, Union

from mmengine import dist
from mmengine.model import is_model_wrapper
from torch.utils.data import DataLoader

from rlpkd.models.selectors import ArchitectureSelector, LearnedSelector
from rlpkd.registry import LOOPS

from .batch_stream import BatchStream
from .phase_loop import Phase, PhaseTrainLoop

RESULT_FILE = 'search_result.json'


class HeldOutSearchLoop(PhaseTrainLoop):
    """Phases as :class:`PhaseTrainLoop`, a held-out dataloader, a search result.

    Args:
        runner, dataloader, phases, learners, val_begin, val_interval,
            dynamic_intervals, iter_based: as :class:`PhaseTrainLoop`.
        arch_dataloader: the held-out dataloader (or its config): a split of the
            training set disjoint from ``dataloader``'s.

    Raises:
        TypeError: the model's selector is no :attr:`selector_type`.
        ValueError: a phase with a learner does not use the selector's ``'search'`` mode.
    """

    #: the selector class this loop searches with, and a config example for errors
    selector_type: Type[LearnedSelector] = LearnedSelector
    selector_example = "dict(type='rlpkd.DARTSSelector')"

    def __init__(self, runner, dataloader: Union[DataLoader, Dict], phases: List[dict],
                 arch_dataloader: Union[DataLoader, Dict],
                 learners: Optional[Dict[str, dict]] = None, val_begin: int = 1,
                 val_interval: int = 1, dynamic_intervals=None,
                 iter_based: bool = False) -> None:
        super().__init__(runner, dataloader, phases, learners, val_begin, val_interval,
                         dynamic_intervals, iter_based=iter_based)
        if not isinstance(self.selector, self.selector_type):
            raise TypeError(f'{type(self).__name__} needs a {self.selector_type.__name__} '
                            f'as model.selector (e.g. {self.selector_example}), got '
                            f'{type(self.selector).__name__}')
        for phase in self.phases:
            if phase.learner is not None and phase.mode != 'search':
                raise ValueError(f'train_cfg.phases: phase {phase.name!r} names learner '
                                 f"{phase.learner!r} but mode={phase.mode!r}; search "
                                 "phases need mode='search'")
        if not isinstance(arch_dataloader, DataLoader):
            arch_dataloader = runner.build_dataloader(arch_dataloader, seed=runner.seed)
        self.arch_dataloader = arch_dataloader
        self.arch_stream = BatchStream(arch_dataloader, 'train_cfg.arch_dataloader')

    # ------------------------------------------------ held-out batches
    def next_arch_batch(self) -> tuple:
        """The next batch of the endless held-out stream (:class:`BatchStream`: a new
        sampler epoch when one is exhausted, exact after a resume), preprocessed:
        ``(inputs, data_samples)``."""
        return self.preprocess(self.arch_stream.next())

    def fixed_held_out_batches(self, limit: Optional[int] = None) -> Iterator[tuple]:
        """The first ``limit`` batches (``None``: all) of the held-out split's epoch 0,
        preprocessed: the same images at every call (the stream is not moved)."""
        for batch in islice(self.arch_stream.pass_iter(0), limit):
            yield self.preprocess(batch)

    def preprocess(self, batch: dict) -> tuple:
        """``(inputs, data_samples)`` of ``batch`` through the model's data preprocessor."""
        model = self.runner.model.module if is_model_wrapper(self.runner.model) \
            else self.runner.model
        data = model.data_preprocessor(batch, True)
        return data['inputs'], data['data_samples']

    # ------------------------------------------------ results
    def search_result(self) -> dict:
        """The content of ``search_result.json``: the selector's result."""
        return self.selector.search_result()

    def write_results(self) -> None:
        """``search_cost.json`` and ``search_result.json`` in the work dir (rank 0)."""
        super().write_results()
        if dist.get_rank() != 0:
            return
        result = self.search_result()
        with open(osp.join(self.runner.work_dir, RESULT_FILE), 'w') as f:
            json.dump(result, f, indent=2)
        self.runner.logger.info(f'search result: levels {result["levels"]}, cost '
                                f'{result["cost"]:.4f}')

    # ------------------------------------------------ checkpoint (held-out stream)
    def loop_state_dict(self) -> dict:
        stream = self.arch_stream.state_dict()
        return dict(super().loop_state_dict(), arch_epoch=stream['epoch'],
                    arch_drawn=stream['drawn'])

    def load_loop_state_dict(self, state: dict) -> None:
        super().load_loop_state_dict(state)
        self.arch_stream.load_state_dict(dict(epoch=state['arch_epoch'],
                                              drawn=state['arch_drawn']))


@LOOPS.register_module()
class ArchitectureSearchLoop(HeldOutSearchLoop):
    """DARTS-LS / GDAS-LS: an architecture step on the next held-out batch after each
    collecting weight step (module docstring). Arguments: :class:`HeldOutSearchLoop`."""

    selector_type = ArchitectureSelector

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

    def before_step(self, phase: Phase) -> None:
        if phase.learner is not None:
            self.selector.set_search_state(self.search_progress(self._iter),
                                           self.student_lr())
        super().before_step(phase)

    def learn(self, phase: Phase) -> None:
        """Hand the selector a held-out batch, then the usual collect / update."""
        inputs, data_samples = self.next_arch_batch()
        self.selector.record_validation(inputs, data_samples)
        super().learn(phase)
