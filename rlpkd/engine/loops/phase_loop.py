"""PhaseTrainLoop: training phases (warm-up, policy learning, joint) in an mmengine epoch
or iteration loop."""
from __future__ import annotations

import bisect
import math
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Union

from mmengine import dist
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import DataLoader

from rlpkd.learners import Learner
from rlpkd.models.selectors import LearnedSelector
from rlpkd.registry import LEARNERS, LOOPS
from rlpkd.utils import world_size

from ..hooks.rl_checkpoint_hook import RLCheckpointHook
from .batch_stream import BatchStream, preserved_rng
from .search_cost import SearchClock

LOOP_KEY = '__loop__'  # the loop's own entry in the learners' checkpoint state


@dataclass
class Phase:
    """One phase of training.

    Attributes:
        name: shown in the logs (``warmup``, ``policy``, ``joint``).
        epochs / iters: its length (exactly one of them).
        mode: the learned selector's mode (``'uniform'`` = every level, ``'sample'``,
            ``'greedy'``; see the selector's ``modes``).
        freeze: student modules frozen during the phase (phase 2: ``('backbone',)``).
        learner: name of the learner (a key of ``train_cfg.learners``) that learns in
            this phase; ``None``: the selector only decides.
        collect_interval: with a learner, collect the selector's experience every this
            many iterations of the phase (from its first).
        collect_samples: samples of a collecting batch that are recorded (``None``: all).
            Scoring may cost a per-sample lookahead, so a large batch is better sampled
            at a few samples of more batches.
        update_interval: the learner updates once this many collecting iterations have
            added their experience.
    """

    name: str
    epochs: Optional[int] = None
    iters: Optional[int] = None
    mode: str = 'sample'
    freeze: Sequence[str] = ()
    learner: Optional[str] = None
    collect_interval: int = 1
    collect_samples: Optional[int] = None
    update_interval: int = 4

    def check(self, learners: Dict[str, Learner], modes: Sequence[str]) -> None:
        """Raise ``ValueError`` naming ``train_cfg.phases`` for a bad setting."""
        where = f'train_cfg.phases: phase {self.name!r}'
        if (self.epochs is None) == (self.iters is None):
            raise ValueError(f'{where} needs exactly one of `epochs` or `iters`')
        if self.mode not in modes:
            raise ValueError(f'{where} has mode={self.mode!r}; the selector has {modes}')
        if self.learner is not None and self.learner not in learners:
            raise ValueError(f'{where} names learner {self.learner!r}; train_cfg.learners '
                             f'has {sorted(learners)}')
        for key, value in (('collect_interval', self.collect_interval),
                           ('update_interval', self.update_interval)):
            if value < 1:
                raise ValueError(f'{where} has {key}={value}; it must be >= 1')
        if self.collect_samples is not None and self.collect_samples < 1:
            raise ValueError(f'{where} has collect_samples={self.collect_samples}; it must '
                             'be >= 1 (or None: all)')


@LOOPS.register_module()
class PhaseTrainLoop(EpochBasedTrainLoop):
    """Epoch- or iteration-based training whose iterations run through phases.

    Each phase is an iteration range (derived from the iteration counter, so a resumed
    run lands in the right phase) that sets the learned selector's mode, freezes
    student modules and names the learner that learns in it. Each iteration is the
    usual ``model.train_step`` with the student's optimiser, schedulers, hooks and
    validation untouched; around it the loop only decides *when*: when to ask the
    selector for experience, when to hand it to the learner, when the learner updates.
    Learners' state (optimiser, pending experience), the loop's own state and the RNG
    go into checkpoints through :class:`RLCheckpointHook`, registered here.

    The loop times its phases (:class:`~.search_cost.SearchClock`: phases with a
    learner are the *search*) and at the end writes ``work_dir/search_cost.json``.

    ``iter_based=True`` runs as mmengine's ``IterBasedTrainLoop`` does, for schedules
    counted in iterations (mmseg's, with an ``InfiniteSampler``): every phase is given
    in ``iters``, the whole run is one epoch for the hooks, the batches come from one
    endless stream of the dataloader (a new sampler epoch whenever a finite sampler is
    exhausted) and validation runs every ``val_interval`` *iterations*. The stream's
    position is in the checkpoint, so ``--resume`` mid-phase continues with the batches
    and random numbers of an uninterrupted run. (mmengine forbids ``by_epoch`` beside
    ``type`` in ``train_cfg``, hence the name.)

    Args:
        runner: the runner.
        dataloader: the training dataloader (or its config).
        phases: list of :class:`Phase` dicts, in order.
        learners: ``{name: learner config}`` (``LEARNERS``, e.g.
            ``dict(ppo=dict(type='rlpkd.PPOLearner', lr=3e-4))``); each is built once
            for the model's selector and used by the phases that name it.
        val_begin, val_interval, dynamic_intervals: as ``EpochBasedTrainLoop`` (epochs),
            or as ``IterBasedTrainLoop`` (iterations) with ``iter_based=True``.
        iter_based: count the run in iterations (see above).
    """

    def __init__(self, runner, dataloader: Union[DataLoader, Dict], phases: List[dict],
                 learners: Optional[Dict[str, dict]] = None, val_begin: int = 1,
                 val_interval: int = 1, dynamic_intervals=None,
                 iter_based: bool = False) -> None:
        if not isinstance(dataloader, DataLoader):
            dataloader = runner.build_dataloader(dataloader, seed=runner.seed)
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self.selector = model.selector
        if not isinstance(self.selector, LearnedSelector):
            raise TypeError('PhaseTrainLoop needs a learned model.selector (e.g. '
                            f"dict(type='RLSelector')), got {type(self.selector).__name__}")
        self.freeze_student = model.freeze_student
        if LOOP_KEY in (learners or {}):
            raise ValueError(f'train_cfg.learners: the name {LOOP_KEY!r} is reserved')
        self.learners: Dict[str, Learner] = {
            name: LEARNERS.build(cfg, default_args=dict(selector=self.selector))
            for name, cfg in (learners or {}).items()}
        self.phases = [Phase(**p) for p in phases]
        if not self.phases:
            raise ValueError('train_cfg.phases is empty')
        self.iter_based = bool(iter_based)
        for phase in self.phases:
            phase.check(self.learners, self.selector.modes)
            if self.iter_based and phase.iters is None:
                raise ValueError(f'train_cfg.phases: phase {phase.name!r} is given in '
                                 '`epochs`, but train_cfg.iter_based=True counts the run in '
                                 'iterations: give every phase `iters`')
        self.boundaries = self._boundaries(len(dataloader))
        max_epochs = 1 if self.iter_based else math.ceil(self.boundaries[-1] / len(dataloader))
        super().__init__(runner, dataloader, max_epochs, val_begin, val_interval,
                         dynamic_intervals)
        self._max_iters = self.boundaries[-1]
        # iter_based: the endless batch stream, its position resumable (loop_state_dict)
        self.stream = BatchStream(self.dataloader, 'train_dataloader') \
            if self.iter_based else None
        self._stream_loaded = False
        self._check_update_sizes(dataloader.batch_size)
        self.active_phase: Optional[Phase] = None
        self._stats: Dict[str, float] = {}
        self.clock = SearchClock()
        runner.register_hook(RLCheckpointHook(), priority='LOW')

    def _boundaries(self, iters_per_epoch: int) -> List[int]:
        """Cumulative end iteration of each phase."""
        ends = []
        for phase in self.phases:
            length = phase.iters if phase.iters is not None else phase.epochs * iters_per_epoch
            ends.append((ends[-1] if ends else 0) + length)
        return ends

    def _check_update_sizes(self, batch_size: Optional[int]) -> None:
        """Fail at build time if a phase's update could not work (e.g. PPO minibatches)."""
        for phase in self.phases:
            per_batch = [n for n in (phase.collect_samples, batch_size) if n is not None]
            if phase.learner is None or not per_batch:  # batch sampler: size unknown
                continue
            self.learners[phase.learner].check_update_size(
                phase.update_interval * min(per_batch),
                f'train_cfg.phases: phase {phase.name!r}')

    def phase_at(self, iteration: int) -> Phase:
        for phase, end in zip(self.phases, self.boundaries):
            if iteration < end:
                return phase
        return self.phases[-1]

    def phase_start(self, phase: Phase) -> int:
        index = self.phases.index(phase)
        return self.boundaries[index - 1] if index else 0

    def run_iters(self) -> None:
        """The whole run, iteration-based (``iter_based=True``), as mmengine's
        ``IterBasedTrainLoop``: one epoch for the hooks, validation every
        ``val_interval`` iterations and after the last."""
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')
        if self._iter > 0 and not self._stream_loaded:
            # a checkpoint without the stream's position: skip the batches trained on
            # (mmengine's IterBasedTrainLoop does the same), leaving the RNG as resumed
            self.runner.logger.warning(f'advancing the training data {self._iter} batches '
                                       'to skip what was trained on')
            with preserved_rng():
                for _ in range(self._iter):
                    self.stream.next()
        while self._iter < self._max_iters and not self.stop_training:
            self.runner.model.train()
            self.run_iter(self._iter, self.stream.next())
            self._decide_current_val_interval()
            if (self.runner.val_loop is not None and self._iter >= self.val_begin
                    and (self._iter % self.val_interval == 0
                         or self._iter == self._max_iters)):
                with preserved_rng():  # a resume from this iteration's checkpoint skips it
                    self.runner.val_loop.run()
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')

    def _decide_current_val_interval(self) -> None:
        """``dynamic_intervals``: milestones in epochs, or iterations when iter-based."""
        progress = self._iter if self.iter_based else self._epoch
        step = bisect.bisect(self.dynamic_milestones, progress + 1)
        self.val_interval = self.dynamic_intervals[step - 1]

    def run_epoch(self) -> None:
        """One epoch; stops early when the last phase ends mid-epoch."""
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        for idx, data_batch in enumerate(self.dataloader):
            if self._iter >= self._max_iters:
                break
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1

    def run_iter(self, idx: int, data_batch) -> None:
        """One student step, with what the phase asks around it (:meth:`before_step`,
        :meth:`after_step`), timed for ``search_cost.json``."""
        start = time.perf_counter()
        phase = self.phase_at(self._iter)
        if phase is not self.active_phase:
            self.enter(phase)
        self.before_step(phase)
        self.runner.call_hook('before_train_iter', batch_idx=idx, data_batch=data_batch)
        outputs = self.runner.model.train_step(data_batch,
                                               optim_wrapper=self.runner.optim_wrapper)
        self._stats = {}
        self.after_step(phase)
        self.runner.call_hook('after_train_iter', batch_idx=idx, data_batch=data_batch,
                              outputs=outputs)
        self._iter += 1
        self.clock.add(phase.name, phase.learner is not None, time.perf_counter() - start)

    def collecting(self, phase: Phase) -> bool:
        """Whether the selector records its experience in this iteration."""
        return phase.learner is not None and \
            (self._iter - self.phase_start(phase)) % phase.collect_interval == 0

    def before_step(self, phase: Phase) -> None:
        """Before the student's step: ask the selector to record it when collecting."""
        if self.collecting(phase):
            self.selector.request_experience(phase.collect_samples)

    def after_step(self, phase: Phase) -> None:
        """After the student's step: the learner learns when collecting."""
        if self.collecting(phase):
            self.learn(phase)

    def learn(self, phase: Phase) -> None:
        """Hand the selector's experience of this step (scored now, after the student's
        step) to the phase's learner; update once enough has been collected."""
        experience = self.selector.collect_experience()
        if experience is None:
            return
        learner = self.learners[phase.learner]
        learner.add(experience)
        if learner.num_pending >= phase.update_interval:
            self._stats = learner.update()

    def enter(self, phase: Phase) -> None:
        """Apply a phase's settings (also right after a resume)."""
        self.active_phase = phase
        self.selector.set_mode(phase.mode)
        self.freeze_student(phase.freeze)
        self.runner.logger.info(f'phase {phase.name!r}: selector mode {phase.mode!r}, '
                                f'learner {phase.learner!r}, frozen student modules '
                                f'{tuple(phase.freeze)}')

    def run(self):
        if self.iter_based:
            self.run_iters()
            model = self.runner.model
        else:
            model = super().run()
        self.write_results()
        return model

    def write_results(self) -> None:
        """``work_dir/search_cost.json`` (rank 0)."""
        if dist.get_rank() == 0:
            path = self.clock.write(self.runner.work_dir, world_size())
            self.runner.logger.info(f'search cost written to {path}')

    def loop_state_dict(self) -> dict:
        """The loop's own resumable state (subclasses extend it): the clock and, when
        iteration-based, the training data stream's position."""
        state = dict(clock=self.clock.state_dict())
        if self.stream is not None:
            state['train_stream'] = self.stream.state_dict()
        return state

    def load_loop_state_dict(self, state: dict) -> None:
        self.clock.load_state_dict(state['clock'])
        if self.stream is not None and 'train_stream' in state:
            self.stream.load_state_dict(state['train_stream'])
            self._stream_loaded = True

    # ------------------------------------------------- declared for the hooks
    def learner_stats(self) -> Dict[str, float]:
        """Statistics of the learner update of the current iteration (empty if none)."""
        return dict(self._stats)

    def learner_state_dict(self) -> dict:
        """Every learner's state (optimiser, pending experience), by name, and the
        loop's own (:meth:`loop_state_dict`) under ``'__loop__'``."""
        state = {name: learner.state_dict() for name, learner in self.learners.items()}
        return dict(state, **{LOOP_KEY: self.loop_state_dict()})

    def load_learner_state_dict(self, state: dict) -> None:
        state = dict(state)
        own = state.pop(LOOP_KEY, None)  # absent in checkpoints of older versions
        if own is not None:
            self.load_loop_state_dict(own)
        missing = sorted(set(self.learners) - set(state))
        if missing:
            raise KeyError(f'the checkpoint has no state for learner(s) {missing} '
                           f'(train_cfg.learners); it has {sorted(state)}')
        for name, learner in self.learners.items():
            learner.load_state_dict(state[name])
