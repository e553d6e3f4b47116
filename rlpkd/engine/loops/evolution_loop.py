"""EvolutionSearchLoop: EA-LS, regularised evolution with a proxy training per candidate.

The phase with a learner (an :class:`~rlpkd.learners.architecture.EvolutionLearner`) is the search
(Real et al., AAAI 2019, Algorithm 1, with a proxy training as fitness). It is cut into
candidates of ``proxy_iters`` iterations each:

1. at a candidate's first iteration the loop restores the *warm-up state* — the
   student, its optimiser and schedulers as they were when the search phase began,
   captured then (:mod:`.training_state`) — while the selector already holds the
   candidate's level weights (the learner proposed them);
2. ``proxy_iters`` ordinary student steps train with those weights;
3. after the last one the loop hands the held-out batches (the same ones for every
   candidate: the first ``fitness_batches`` of the held-out split) to the selector,
   which scores the student's task loss on them; the learner turns it into
   ``fitness = −val_loss − λ · cost``, reports it to the evolution and proposes the
   next candidate.

The search phase of ``n · proxy_iters`` iterations evaluates ``n`` candidates, the first
P of them random (the initial population). Everything a resumed run needs is in the
checkpoint: the candidate's half-trained student (the model), the evolution's
population, history, generator and current proposal (the learner), the warm-up state
and the clock (the loop). At the end ``work_dir/search_result.json`` holds the fittest
weights (``levels``, ``level_weights``), the population and the whole history.

DDP: every rank trains the same candidate (data-parallel) and scores it on its shard of
the held-out split; the held-out loss is averaged over ranks (the learner), so all
ranks run the same evolution.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Union

from torch.utils.data import DataLoader

from rlpkd.learners.architecture import EvolutionLearner
from rlpkd.models.selectors import EvolutionSelector
from rlpkd.registry import LOOPS

from . import training_state
from .phase_loop import Phase
from .search_loop import HeldOutSearchLoop


@LOOPS.register_module()
class EvolutionSearchLoop(HeldOutSearchLoop):
    """EA-LS's search loop (module docstring).

    Args:
        runner, dataloader, phases, arch_dataloader, learners, val_begin, val_interval,
            dynamic_intervals, iter_based: as :class:`HeldOutSearchLoop`.
        proxy_iters: student iterations of each candidate's proxy training.
        fitness_batches: held-out batches each candidate is scored on (``None``: the
            whole held-out split).

    Raises:
        ValueError: not exactly one phase with a learner, its learner is no
            ``EvolutionLearner``, its ``update_interval`` is not 1, or its length is not
            a multiple of ``proxy_iters``.
    """

    selector_type = EvolutionSelector
    selector_example = "dict(type='rlpkd.EvolutionSelector')"

    def __init__(self, runner, dataloader: Union[DataLoader, Dict], phases: List[dict],
                 arch_dataloader: Union[DataLoader, Dict], proxy_iters: int,
                 fitness_batches: Optional[int] = None,
                 learners: Optional[Dict[str, dict]] = None, val_begin: int = 1,
                 val_interval: int = 1, dynamic_intervals=None,
                 iter_based: bool = False) -> None:
        super().__init__(runner, dataloader, phases, arch_dataloader, learners, val_begin,
                         val_interval, dynamic_intervals, iter_based=iter_based)
        if proxy_iters < 1:
            raise ValueError(f'train_cfg.proxy_iters must be >= 1, got {proxy_iters}')
        if fitness_batches is not None and fitness_batches < 1:
            raise ValueError(f'train_cfg.fitness_batches must be >= 1 or None, got '
                             f'{fitness_batches}')
        self.proxy_iters, self.fitness_batches = proxy_iters, fitness_batches
        self.search_phase = self._check_search_phase()
        self.warmup_state: Optional[dict] = None

    def _check_search_phase(self) -> Phase:
        """The one phase with a learner, checked (see Raises)."""
        searching = [p for p in self.phases if p.learner is not None]
        if len(searching) != 1:
            raise ValueError(f'train_cfg.phases: EvolutionSearchLoop needs exactly one '
                             f'phase with a learner (the search), got {len(searching)}')
        phase = searching[0]
        where = f'train_cfg.phases: phase {phase.name!r}'
        if not isinstance(self.learners[phase.learner], EvolutionLearner):
            raise ValueError(f"{where}: learner {phase.learner!r} must be an "
                             "EvolutionLearner (dict(type='rlpkd.EvolutionLearner'))")
        if phase.update_interval != 1:
            raise ValueError(f'{where} has update_interval={phase.update_interval}; the '
                             'evolution scores one candidate per update: set it to 1')
        index = self.phases.index(phase)
        length = self.boundaries[index] - self.phase_start(phase)
        if length % self.proxy_iters:
            raise ValueError(f'{where} has {length} iterations, not a multiple of '
                             f'train_cfg.proxy_iters={self.proxy_iters}')
        return phase

    def candidate_step(self) -> int:
        """Position of the current iteration within its candidate's proxy training."""
        return (self._iter - self.phase_start(self.search_phase)) % self.proxy_iters

    def before_step(self, phase: Phase) -> None:
        """A candidate's first iteration: capture (first candidate) or restore the
        warm-up state."""
        if phase is not self.search_phase or self.candidate_step() != 0:
            return
        if self.warmup_state is None:
            self.warmup_state = training_state.capture(self.runner)
        else:
            training_state.restore(self.runner, self.warmup_state)

    def after_step(self, phase: Phase) -> None:
        """A candidate's last iteration: score it on the held-out batches; the learner
        reports its fitness and proposes the next candidate."""
        if phase is not self.search_phase or self.candidate_step() != self.proxy_iters - 1:
            return
        for inputs, data_samples in self.fixed_held_out_batches(self.fitness_batches):
            self.selector.record_validation(inputs, data_samples)
        self.learn(phase)

    # ------------------------------------------------ results, checkpoint
    def search_result(self) -> dict:
        """The selector's result (the fittest weights) and the evolution's state."""
        learner = self.learners[self.search_phase.learner]
        return dict(self.selector.search_result(), **learner.search_summary())

    def loop_state_dict(self) -> dict:
        return dict(super().loop_state_dict(), warmup_state=self.warmup_state)

    def load_loop_state_dict(self, state: dict) -> None:
        super().load_loop_state_dict(state)
        self.warmup_state = state['warmup_state']
