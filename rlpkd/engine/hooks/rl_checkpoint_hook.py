"""Keeps the learners' state, which is not part of the model, in mmengine checkpoints."""
from __future__ import annotations

import random

import numpy as np
import torch
from mmengine.hooks import Hook

from rlpkd.registry import HOOKS

from ..loops.protocols import LearnerStateLoop, require


@HOOKS.register_module()
class RLCheckpointHook(Hook):
    """Save / restore the learners of a :class:`~rlpkd.engine.loops.protocols.LearnerStateLoop`
    (optimisers, pending experience: ``loop.learner_state_dict()``) and the RNG states (torch, CUDA,
    numpy, random), under ``checkpoint['rl_state']``.

    The selector's parameters (the policy) are part of the model's ``state_dict``. The
    loop registers this hook itself, so ``--resume`` continues any phase exactly.
    """

    priority = 'LOW'

    def before_train(self, runner) -> None:
        require(runner.train_loop, LearnerStateLoop, 'RLCheckpointHook')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['rl_state'] = dict(
            learners=runner.train_loop.learner_state_dict(),
            rng=dict(torch=torch.get_rng_state(), numpy=np.random.get_state(),
                     random=random.getstate(),
                     cuda=torch.cuda.get_rng_state_all() if torch.cuda.is_available()
                     else None))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('rl_state')
        if state is None:
            return
        if 'learners' not in state:
            raise KeyError("checkpoint['rl_state'] has no 'learners': it was written by an "
                           'rlpkd before the learner interface (PPO state under '
                           "'loop'); resume it with that version, or start the phase anew "
                           'with load_from')
        runner.train_loop.load_learner_state_dict(state['learners'])
        rng = state['rng']
        torch.set_rng_state(rng['torch'])
        np.random.set_state(rng['numpy'])
        random.setstate(rng['random'])
        if rng['cuda'] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng['cuda'])
