"""Rollout storage for PPO: ``T`` steps of ``B`` parallel environments.

In rlpkd an environment is one sample of a training batch, a state is its per-sample
feature summary ``[S]`` and an action is a binary mask over the ``L`` pyramid levels.
This is the prototype's multi-step rollout storage, used with the standalone
environments (e.g. :func:`rlpkd.benchmarking.contextual.train_ppo`). Inside mmengine training
the episodes are single-step and the PPO learner keeps its experience records itself
(:class:`rlpkd.learners.PPOLearner`, checkpointed by ``RLCheckpointHook``). The buffer
can still be saved mid-rollout (``state_dict`` holds the tensors and the write
position).
"""
from __future__ import annotations

import torch
from torch import Tensor

KEYS = ('states', 'actions', 'rewards', 'values', 'log_probs', 'dones')


class RolloutBuffer:
    """Preallocated float32 tensors filled one step at a time with :meth:`add`.

    Attributes:
        states: ``[T, B, S]``.
        actions: ``[T, B, L]`` (level masks as floats).
        rewards, values, log_probs, dones: ``[T, B]``.
        pos: number of steps written so far (``0 <= pos <= T``).
    """

    def __init__(self, num_steps: int, num_envs: int, state_dim: int, num_levels: int,
                 device: str | torch.device = 'cpu') -> None:
        if min(num_steps, num_envs, state_dim, num_levels) < 1:
            raise ValueError('num_steps, num_envs, state_dim and num_levels must be >= 1')
        self.num_steps = num_steps
        self.num_envs = num_envs
        self.state_dim = state_dim
        self.num_levels = num_levels
        self.device = torch.device(device)
        shape = (num_steps, num_envs)
        self.states = torch.zeros(*shape, state_dim, device=self.device)
        self.actions = torch.zeros(*shape, num_levels, device=self.device)
        self.rewards = torch.zeros(shape, device=self.device)
        self.values = torch.zeros(shape, device=self.device)
        self.log_probs = torch.zeros(shape, device=self.device)
        self.dones = torch.zeros(shape, device=self.device)
        self.pos = 0

    @property
    def full(self) -> bool:
        """True once ``num_steps`` steps have been added."""
        return self.pos == self.num_steps

    def reset(self) -> None:
        """Start a new rollout (old contents are overwritten by the next :meth:`add` calls)."""
        self.pos = 0

    def _expected_shapes(self) -> dict[str, tuple[int, ...]]:
        b = self.num_envs
        return dict(states=(b, self.state_dim), actions=(b, self.num_levels), rewards=(b, ),
                    values=(b, ), log_probs=(b, ), dones=(b, ))

    def add(self, state: Tensor, action: Tensor, reward: Tensor, value: Tensor,
            log_prob: Tensor, done: Tensor) -> None:
        """Write one step.

        Args:
            state: ``[B, S]``.
            action: ``[B, L]``.
            reward, value, log_prob, done: ``[B]`` (``done = 1``: the episode ended after
                this step).

        All inputs are detached, cast to float32 and moved to the buffer's device.
        """
        if self.full:
            raise RuntimeError(f'RolloutBuffer is full ({self.num_steps} steps); call reset()')
        step = dict(states=state, actions=action, rewards=reward, values=value,
                    log_probs=log_prob, dones=done)
        for key, shape in self._expected_shapes().items():
            x = torch.as_tensor(step[key])
            if tuple(x.shape) != shape:
                raise ValueError(f'{key} must have shape {shape}; got {tuple(x.shape)}')
            getattr(self, key)[self.pos] = x.detach().to(self.device, torch.float32)
        self.pos += 1

    def as_rollout(self, last_values: Tensor | None = None) -> dict[str, Tensor]:
        """The full rollout as the dict :meth:`PPOTrainer.train_step` takes.

        Args:
            last_values: ``[B]`` ``V(s_T)`` to bootstrap the last step from; zeros if None.

        Returns:
            Copies of ``states [T,B,S]``, ``actions [T,B,L]``, ``rewards``, ``values``,
            ``log_probs``, ``dones`` ``[T,B]`` and ``last_values [B]``.
        """
        if not self.full:
            raise RuntimeError(f'rollout incomplete: {self.pos}/{self.num_steps} steps added')
        if last_values is None:
            last_values = torch.zeros(self.num_envs, device=self.device)
        last_values = torch.as_tensor(last_values).detach().to(self.device, torch.float32)
        if tuple(last_values.shape) != (self.num_envs, ):
            raise ValueError(f'last_values must be [{self.num_envs}]; '
                             f'got {tuple(last_values.shape)}')
        rollout = {key: getattr(self, key).clone() for key in KEYS}
        rollout['last_values'] = last_values.clone()
        return rollout

    def state_dict(self) -> dict:
        """The tensors (on CPU) and the write position ``pos``."""
        state = {key: getattr(self, key).detach().cpu().clone() for key in KEYS}
        state['pos'] = self.pos
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore tensors and write position; shapes must match this buffer's."""
        for key in KEYS:
            src = torch.as_tensor(state_dict[key])
            dst = getattr(self, key)
            if src.shape != dst.shape:
                raise ValueError(f'{key}: checkpoint shape {tuple(src.shape)} != buffer shape '
                                 f'{tuple(dst.shape)}')
            dst.copy_(src.to(self.device, torch.float32))
        pos = int(state_dict['pos'])
        if not 0 <= pos <= self.num_steps:
            raise ValueError(f'pos {pos} out of range [0, {self.num_steps}]')
        self.pos = pos
