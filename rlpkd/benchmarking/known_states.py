"""States of a finished known-answer run, with the images' known answers: what the
state probe (``benchmarks/state_probe.py``) and the learner probe
(``benchmarks/learner_probe.py``) fit and score.

A finished run of ``benchmarks/known_answer.py`` holds the student and the corrupted
teacher (:class:`rlpkd.benchmarking.parts.KnownAnswerDistiller`). An
:class:`rlpkd.models.selectors.RLSelector` bound to its pair computes the states the
policy would see (any ``state_fields``); its running statistics are those of the train
images (one pass in training mode), then train and val states are taken in eval mode.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence

import torch
from mmengine.config import Config
from mmengine.runner import Runner
from torch import Tensor

from rlpkd.models.selectors import RLSelector
from rlpkd.pyramid.functional import TaskInputs, total_loss
from rlpkd.rl.environment import ParallelDistillationEnv
from rlpkd.rl.signals import attention_agreement

from .parts import group_of
from .studies import load_finished_run

#: the configured policy (configs/_base_/distillers/rlpkd.py)
POLICY = dict(hidden_dim=256, use_lstm=True, hard_budget=False, init_keep_prob=0.75)


@dataclass
class KnownStates:
    """States ``[N, S]``, known answers ``[N, L]`` (keep = 1; the run's ``model.layout``)
    and size groups of a split."""

    states: Tensor
    answers: Tensor
    groups: List[str]


class FinishedRun:
    """A finished known-answer run and its train / val loaders (val pipeline for both:
    no augmentation, every image once).

    Args:
        run: the run's work dir (``<work-dir>/<corruption>/<method>/seed_<s>``).
    """

    def __init__(self, run: Path) -> None:
        self.model, self.val_loader = load_finished_run(Path(run))
        cfg = Config.fromfile(Path(run) / 'test' / 'config.py')
        cfg.train_dataloader.num_workers = 0
        cfg.train_dataloader.pop('persistent_workers', None)
        cfg.train_dataloader.dataset.pipeline = cfg.val_dataloader.dataset.pipeline
        cfg.train_dataloader.sampler = dict(type='DefaultSampler', shuffle=False)
        self.train_loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)

    def selector(self, fields: Sequence[str], level_credit: bool = False,
                 fit: bool = True) -> RLSelector:
        """An RL selector (λ = 0, the configured policy, a fresh one per call) bound to
        the run's pair; with ``fit`` its state statistics are fitted on the train images."""
        selector = RLSelector(policy=POLICY, lambda_tradeoff=0.0, state_fields=fields,
                              level_credit=level_credit)
        selector.bind(self.model.pair)
        if not fit:
            return selector
        selector.env.train()
        self.states(selector, self.train_loader)
        selector.env.eval()
        return selector

    @torch.no_grad()
    def states(self, selector: RLSelector, loader) -> KnownStates:
        """The states ``selector`` sees for every image of ``loader``, with answers."""
        model, states, groups, answers = self.model, [], [], []
        for batch in loader:
            data = model.data_preprocessor(batch, False)
            inputs, samples = data['inputs'], data['data_samples']
            teacher = model.teacher_pyramid(inputs, samples)
            with model.pair.student_tap.record() as student, selector.observe() as seen:
                model.student.loss(inputs, samples)
            states.append(selector.env.states(seen, student, teacher,
                                              task=TaskInputs(inputs, samples))[0])
            groups += [group_of(model.groups, s) for s in samples]
            answers += [model.answers.answer(s.metainfo['img_path']) for s in samples]
        return KnownStates(torch.cat(states), torch.tensor(answers, dtype=torch.float32),
                           groups)

    def splits(self, selector: RLSelector) -> Dict[str, KnownStates]:
        return dict(train=self.states(selector, self.train_loader),
                    val=self.states(selector, self.val_loader))

    @torch.no_grad()
    def subset_rewards(self, signal: str, split: str) -> Tensor:
        """``[N, 2^L]``: the measured reward (λ = 0; ``signal``: a
        :class:`rlpkd.rl.reward.LookaheadReward` signal) of every level subset on every
        image of ``split`` (``'train'`` / ``'val'``, the order of :meth:`states`); column
        ``k`` is the subset whose bit ``L − 1 − l`` is level ``l`` (:func:`subset_index`)."""
        model, pair = self.model, self.model.pair
        env = ParallelDistillationEnv(model, lambda_tradeoff=0.0, reward_signal=signal)
        subsets = torch.tensor(list(itertools.product((0., 1.), repeat=pair.num_levels)))
        rewards = []
        for batch in self.train_loader if split == 'train' else self.val_loader:
            data = model.data_preprocessor(batch, False)
            inputs, samples = data['inputs'], data['data_samples']
            teacher = model.teacher_pyramid(inputs, samples)
            with pair.student_tap.record() as student, env.observe() as seen:
                model.student.loss(inputs, samples)
            _, observation = env.states(seen, student, teacher,
                                        task=TaskInputs(inputs, samples))
            masks = subsets.expand(len(samples), -1, -1)                     # [B, 2^L, L]
            drops = env.reward.lookahead_drops_many(observation.inputs,
                                                    observation.teacher_feats, masks,
                                                    observation.task)
            rewards.append(torch.stack([
                env.reward.reward(drops[:, 0], drops[:, 1 + k], masks[:, k],
                                  observation.budget)[0] for k in range(len(subsets))], 1))
        return torch.cat(rewards)

    @torch.no_grad()
    def field_costs(self, repeats: int = 3) -> Dict[str, float]:
        """Seconds per val batch (mean of ``repeats`` passes, after one warm-up batch) of
        a training iteration of the run's distiller (forward + backward of its loss)
        and of computing each signal."""
        selector = self.selector(('global', 'levels', 'gap', 'discrepancy', 'agreement',
                                  'reliability'))
        signals, model = selector.env.signals, self.model
        batch = model.data_preprocessor(next(iter(self.val_loader)), False)
        inputs, samples = batch['inputs'], batch['data_samples']
        teacher = model.teacher_pyramid(inputs, samples)
        student = model.pair.extract(inputs)[0]

        def iteration():
            with torch.enable_grad():
                model.train()
                losses = model(inputs, samples, mode='loss')
                total_loss(losses).backward()
                model.zero_grad(set_to_none=True)
                model.eval()

        parts = dict(iteration=iteration,
                     discrepancy=lambda: signals.discrepancy(student, teacher),
                     agreement=lambda: attention_agreement(teacher, signals.agreement_size),
                     reliability=lambda: model.pair.teacher_task_loss(
                         TaskInputs(inputs, samples)))
        return {name: timed(fn, repeats) for name, fn in parts.items()}


def subset_index(actions: Tensor) -> Tensor:
    """``[N]`` column of :meth:`FinishedRun.subset_rewards` of each selection ``[N, L]``."""
    weights = 2 ** torch.arange(actions.shape[1] - 1, -1, -1, device=actions.device)
    return (actions.long() * weights).sum(dim=1)


def timed(fn, repeats: int) -> float:
    """Mean seconds of ``fn()`` over ``repeats`` calls after one warm-up call."""
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats
