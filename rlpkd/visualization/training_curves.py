"""Curves of a training run's scalar log: PPO statistics and GradNorm level weights."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from matplotlib.figure import Figure

from .figure import new_figure, save_figure
from .scalars import Series

PPO_KEYS = {'rl/reward': 'reward', 'rl/entropy': 'entropy',
            'rl/approx_kl': 'approx. KL', 'rl/clip_fraction': 'clip fraction'}
GRADNORM_PREFIX = 'gradnorm_w_'


def plot_ppo_curves(scalars: dict[str, Series], out_file: str | Path) -> Optional[Figure]:
    """Write 4 panels over training iterations: the PPO learner's mean reward, policy
    entropy, approximate KL and clip fraction (logged by ``rlpkd.PolicyStatsHook``, the
    last update's values at each logged iteration). Returns ``None`` and writes nothing
    when the log holds none of them (no learned selector, or no update yet)."""
    if not any(key in scalars for key in PPO_KEYS):
        return None
    fig = new_figure(9.0, 6.0)
    axes = fig.subplots(2, 2, sharex=True)
    for ax, (key, title) in zip(axes.flat, PPO_KEYS.items()):
        steps, values = scalars.get(key, ([], []))
        ax.plot(steps, values, marker='.' if len(steps) < 30 else None)
        ax.set_title(title if steps else f'{title} (not logged)')
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel('iteration')
    fig.suptitle('PPO statistics')
    save_figure(fig, out_file)
    return fig


def plot_gradnorm_weights(scalars: dict[str, Series],
                          out_file: str | Path) -> Optional[Figure]:
    """Write the GradNorm weight of each level over training iterations (the
    distiller's ``gradnorm_w_<level>``, summing to the number of levels). Returns
    ``None`` and writes nothing when the run had no ``model.balancer``."""
    keys = sorted(k for k in scalars if k.startswith(GRADNORM_PREFIX))
    if not keys:
        return None
    fig = new_figure(6.5, 4.0)
    ax = fig.add_subplot()
    for key in keys:
        steps, values = scalars[key]
        ax.plot(steps, values, label=key[len(GRADNORM_PREFIX):])
    ax.axhline(1.0, color='grey', lw=0.8, ls=':')
    ax.set_xlabel('iteration')
    ax.set_ylabel('level weight')
    ax.set_title('GradNorm level weights')
    ax.legend(fontsize='small')
    ax.grid(alpha=0.3)
    save_figure(fig, out_file)
    return fig
