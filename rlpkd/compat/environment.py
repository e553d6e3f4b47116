"""The prototype's single-sample ``DistillationEnvironment`` (``rl.environment``): the
batched MDP of :class:`rlpkd.rl.environment.ParallelDistillationEnv`, one image at a time."""
from __future__ import annotations

from typing import Optional, Tuple

from torch import Tensor, nn

from rlpkd.rl.environment import ParallelDistillationEnv, as_action

__all__ = ['DistillationEnvironment', 'ParallelDistillationEnv']


class DistillationEnvironment:
    """The same MDP one sample at a time: the prototype's ``reset`` / ``step`` API.

    ``reset(sample [3, H, W]) -> state [S]``; ``step(action [L]) -> (state, reward: float,
    done: bool, info)`` with ``info['selected_layers']`` such as ``['P2', 'P4', 'P5']`` and
    float ``distill_loss``, ``used_cost``, ``saved_cost``, ``improvement``.
    Arguments as :class:`ParallelDistillationEnv`, whose methods it runs.
    """

    def __init__(self, teacher, student: Optional[nn.Module] = None,
                 lambda_tradeoff: float = 0.5, **kwargs) -> None:
        self.env = ParallelDistillationEnv(teacher, student, num_envs=1,
                                           lambda_tradeoff=lambda_tradeoff, **kwargs)

    @property
    def state_dim(self) -> int:
        return self.env.state_dim

    def reset(self, sample: Tensor) -> Tensor:
        return self.env.reset(sample.unsqueeze(0) if sample.dim() == 3 else sample)[0]

    def step(self, action: Tensor) -> Tuple[Tensor, float, bool, dict]:
        state, reward, done, info = self.env.step(as_action(action).reshape(1, -1))
        info = {k: (v[0] if isinstance(v, list) else float(v[0])) for k, v in info.items()}
        return state[0], float(reward[0]), bool(done[0]), info
