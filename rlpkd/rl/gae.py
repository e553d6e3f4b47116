"""Generalized Advantage Estimation (GAE) and explained variance.

Shapes: ``T`` rollout steps, ``B`` parallel environments (here: samples of a batch).

``dones[t] = 1`` means the episode ended *after* step ``t``: step ``t`` does not bootstrap
from step ``t + 1``. The last step bootstraps from ``last_values`` unless ``dones[T - 1]``.
This is stable-baselines3's ``RolloutBuffer.compute_returns_and_advantage`` with its
``episode_starts[t + 1] = dones[t]`` and its final ``dones`` argument ``= dones[T - 1]``.
"""
from __future__ import annotations

import torch
from torch import Tensor


def compute_gae(rewards: Tensor, values: Tensor, dones: Tensor, last_values: Tensor,
                gamma: float, gae_lambda: float) -> tuple[Tensor, Tensor]:
    """GAE(lambda) advantages and lambda-returns.

    Args:
        rewards: ``[T, B]`` reward received after acting at step ``t``.
        values: ``[T, B]`` critic value ``V(s_t)`` recorded during the rollout.
        dones: ``[T, B]`` 1 where the episode ended after step ``t``, else 0.
        last_values: ``[B]`` ``V(s_T)``, the value of the state after the last step.
        gamma: discount factor.
        gae_lambda: GAE lambda (1 = Monte-Carlo, 0 = one-step TD).

    Returns:
        ``(advantages [T, B], returns [T, B])`` with ``returns = advantages + values``.
        Computed without gradient.
    """
    if rewards.dim() != 2 or values.shape != rewards.shape or dones.shape != rewards.shape:
        raise ValueError(f'rewards, values, dones must all be [T, B]; got {tuple(rewards.shape)}, '
                         f'{tuple(values.shape)}, {tuple(dones.shape)}')
    num_steps, num_envs = rewards.shape
    if last_values.shape != (num_envs, ):
        raise ValueError(f'last_values must be [B] = [{num_envs}]; got {tuple(last_values.shape)}')

    with torch.no_grad():
        rewards, values, last_values = rewards.float(), values.float(), last_values.float()
        dones = dones.float()
        advantages = torch.zeros_like(rewards)
        last_gae = torch.zeros_like(last_values)                  # [B]
        for t in reversed(range(num_steps)):
            next_values = last_values if t == num_steps - 1 else values[t + 1]
            next_non_terminal = 1.0 - dones[t]                    # 0 where the episode ended
            delta = rewards[t] + gamma * next_values * next_non_terminal - values[t]
            last_gae = delta + gamma * gae_lambda * next_non_terminal * last_gae
            advantages[t] = last_gae
        returns = advantages + values
    return advantages, returns


def explained_variance(pred: Tensor, target: Tensor) -> Tensor:
    """``1 - Var[target - pred] / Var[target]`` over all elements (population variance).

    1 is a perfect prediction, 0 is no better than predicting the mean, negative is worse.
    Returns a 0-dim tensor; ``nan`` when ``target`` has zero variance (as SB3 / CleanRL).

    Args:
        pred: any shape, e.g. ``[T, B]`` critic values.
        target: same shape as ``pred``, e.g. ``[T, B]`` returns.
    """
    pred, target = pred.detach().flatten().float(), target.detach().flatten().float()
    var_target = target.var(correction=0)
    if var_target == 0:
        return torch.tensor(float('nan'), device=target.device)
    return 1.0 - (target - pred).var(correction=0) / var_target
