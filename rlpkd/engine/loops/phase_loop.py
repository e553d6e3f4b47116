"""PhaseTrainLoop: RL-PyramidKD's phases inside an ordinary mmengine epoch loop."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import DataLoader

from rlpkd.registry import LOOPS
from rlpkd.rl.ppo import PPOTrainer

from ..hooks.rl_checkpoint_hook import RLCheckpointHook


@dataclass
class Phase:
    """One phase of training.

    Attributes:
        name: shown in the logs (``warmup``, ``policy``, ``joint``).
        epochs / iters: its length (exactly one of them).
        mode: the RL selector's mode: ``'uniform'`` (all levels), ``'sample'``, ``'greedy'``.
        freeze: student modules frozen during the phase (phase 2: ``('backbone',)``).
        rollout_interval: score the policy's choice every this many iterations (0: never).
        ppo_interval: run a PPO update once this many scored batches are collected.
        score_samples: samples of a scored batch that are scored and become transitions
            (``None``: all). The reward costs a per-sample lookahead, so a large batch
            is better sampled at a few samples of more batches.
    """

    name: str
    epochs: Optional[int] = None
    iters: Optional[int] = None
    mode: str = 'sample'
    freeze: Sequence[str] = ()
    rollout_interval: int = 0
    ppo_interval: int = 4
    score_samples: Optional[int] = None


@LOOPS.register_module()
class PhaseTrainLoop(EpochBasedTrainLoop):
    """Epoch-based training whose iterations run through RL-PyramidKD's phases.

    1 = distil every level (warm-up), 2 = learn the policy with the student backbone
    frozen, 3 = joint fine-tuning of policy and student (the config decides). Each
    iteration is the usual ``model.train_step`` with the student's optimiser, schedulers,
    hooks and validation untouched; around it the loop sets the selector's mode, collects
    scored transitions and runs PPO. Non-model state (PPO optimiser, pending transitions,
    RNG) goes into checkpoints through :class:`RLCheckpointHook`, registered here.

    Args:
        runner: the runner.
        dataloader: the training dataloader (or its config).
        phases: list of :class:`Phase` dicts, in order.
        ppo: :class:`rlpkd.rl.ppo.PPOTrainer` arguments.
        val_begin, val_interval, dynamic_intervals: as ``EpochBasedTrainLoop``.
    """

    def __init__(self, runner, dataloader: Union[DataLoader, Dict], phases: List[dict],
                 ppo: Optional[dict] = None, val_begin: int = 1, val_interval: int = 1,
                 dynamic_intervals=None) -> None:
        self.phases = [Phase(**p) for p in phases]
        for phase in self.phases:
            if (phase.epochs is None) == (phase.iters is None):
                raise ValueError(f'train_cfg.phases: phase {phase.name!r} needs exactly one '
                                 'of `epochs` or `iters`')
            if phase.score_samples is not None and phase.score_samples < 1:
                raise ValueError(f'train_cfg.phases: phase {phase.name!r} has score_samples='
                                 f'{phase.score_samples}; it must be >= 1 (or None: all)')
        if not isinstance(dataloader, DataLoader):
            dataloader = runner.build_dataloader(dataloader, seed=runner.seed)
        iters_per_epoch = len(dataloader)
        self.boundaries = []  # cumulative end iteration of each phase
        for phase in self.phases:
            length = phase.iters if phase.iters is not None else phase.epochs * iters_per_epoch
            self.boundaries.append((self.boundaries[-1] if self.boundaries else 0) + length)
        max_epochs = math.ceil(self.boundaries[-1] / iters_per_epoch)
        super().__init__(runner, dataloader, max_epochs, val_begin, val_interval,
                         dynamic_intervals)
        self._max_iters = self.boundaries[-1]
        self.distiller = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self.selector = self.distiller.selector
        if not hasattr(self.selector, 'policy'):
            raise TypeError('PhaseTrainLoop needs model.selector=dict(type=\'RLSelector\'), '
                            f'got {type(self.selector).__name__}')
        self.ppo = PPOTrainer(self.selector.policy, **(ppo or {}))
        self._check_ppo_batches(dataloader.batch_size)
        self.transitions: List[Dict[str, torch.Tensor]] = []
        self.rl_stats: Dict[str, float] = {}
        self.active_phase: Optional[Phase] = None
        runner.register_hook(RLCheckpointHook(), priority='LOW')

    def phase_at(self, iteration: int) -> Phase:
        for phase, end in zip(self.phases, self.boundaries):
            if iteration < end:
                return phase
        return self.phases[-1]

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
        phase = self.phase_at(self._iter)
        if phase is not self.active_phase:
            self.enter(phase)
        start = self.boundaries[self.phases.index(phase)] - self._phase_length(phase)
        self.selector.record = bool(phase.rollout_interval) and \
            (self._iter - start) % phase.rollout_interval == 0
        self.selector.score_samples = phase.score_samples
        self.runner.call_hook('before_train_iter', batch_idx=idx, data_batch=data_batch)
        outputs = self.runner.model.train_step(data_batch,
                                               optim_wrapper=self.runner.optim_wrapper)
        self.rl_stats = {}
        transition = self.selector.finish_transition()  # scored after the student's step
        if transition is not None:
            self.transitions.append(transition)
            if len(self.transitions) >= phase.ppo_interval:
                self.rl_stats = self.update_policy()
        self.runner.call_hook('after_train_iter', batch_idx=idx, data_batch=data_batch,
                              outputs=outputs)
        self._iter += 1

    def enter(self, phase: Phase) -> None:
        """Apply a phase's settings (also right after a resume)."""
        self.active_phase = phase
        self.selector.mode = phase.mode
        self.distiller.freeze_student(phase.freeze)
        self.runner.logger.info(f'phase {phase.name!r}: selector mode {phase.mode!r}, '
                                f'frozen student modules {tuple(phase.freeze)}')

    def update_policy(self) -> Dict[str, float]:
        """PPO on the collected single-step episodes (GAE reduces to ``r − V``)."""
        batch = {k: torch.cat([t[k] for t in self.transitions]) for k in self.transitions[0]}
        self.transitions = []
        rollout = dict(states=batch['states'][None], actions=batch['actions'][None],
                       rewards=batch['rewards'][None], values=batch['values'][None],
                       log_probs=batch['log_probs'][None],
                       dones=torch.ones_like(batch['rewards'])[None])
        with self.selector.trainable():
            stats = self.ppo.train_step(rollout)
        self.check_policy_synchronized()
        for key in ('rewards', 'improvement', 'used_cost'):
            stats[key] = batch[key].mean()
        stats['selected'] = batch['actions'].mean(dim=0)
        return {k: reduced_mean(v) for k, v in stats.items()}

    def check_policy_synchronized(self) -> None:
        """Raise if the policy differs across ranks (cheap: two sums per rank)."""
        world_size = get_world_size()
        if world_size == 1:
            return
        flat = torch.cat([p.detach().flatten() for p in self.selector.policy.parameters()])
        summary = torch.stack([flat.double().sum(), flat.double().pow(2).sum()])
        low, high = summary.clone(), summary.clone()
        all_reduce(low, op='min')
        all_reduce(high, op='max')
        if not torch.equal(low, high):
            raise RuntimeError(f'policy parameters differ across ranks: {low} vs {high}')
        self.runner.logger.info(f'policy parameters identical on {world_size} ranks '
                                f'(sum {float(summary[0]):.6f})')

    def _check_ppo_batches(self, batch_size: Optional[int]) -> None:
        """Fail at build time if a phase's PPO update could not fill its minibatches."""
        for phase in self.phases:
            per_batch = [n for n in (phase.score_samples, batch_size) if n is not None]
            if not phase.rollout_interval or not per_batch:  # batch sampler: size unknown
                continue
            samples = phase.ppo_interval * min(per_batch)
            if samples < self.ppo.num_minibatches:
                raise ValueError(
                    f'train_cfg.phases: phase {phase.name!r} collects {samples} transitions '
                    f'per PPO update (ppo_interval x score_samples or batch size), fewer '
                    f'than train_cfg.ppo.num_minibatches={self.ppo.num_minibatches}')

    def _phase_length(self, phase: Phase) -> int:
        i = self.phases.index(phase)
        return self.boundaries[i] - (self.boundaries[i - 1] if i else 0)

    # --------------------------------------------------------- checkpointing
    def rl_state_dict(self) -> dict:
        return dict(ppo=self.ppo.state_dict(),
                    transitions=[{k: v.cpu() for k, v in t.items()}
                                 for t in self.transitions])

    def load_rl_state_dict(self, state: dict) -> None:
        self.ppo.load_state_dict(state['ppo'])
        device = next(self.selector.policy.parameters()).device
        self.transitions = [{k: v.to(device) for k, v in t.items()}
                            for t in state['transitions']]


def reduced_mean(value) -> Union[float, List[float]]:
    """Average a scalar / vector statistic over ranks; return Python numbers."""
    tensor = torch.as_tensor(value, dtype=torch.float32).clone()
    all_reduce(tensor, op='mean')
    return tensor.tolist()
