"""Logs what the level-selection policy does and learns."""
from __future__ import annotations

from mmengine.hooks import Hook

from rlpkd.registry import HOOKS


@HOOKS.register_module()
class PolicyStatsHook(Hook):
    """Send the PPO statistics of :class:`PhaseTrainLoop` to the mmengine logger.

    After each PPO update: ``rl/reward``, ``rl/improvement``, ``rl/cost`` (distillation-cost
    fraction used), ``rl/select_<level>`` (selection rate per level), ``rl/entropy``,
    ``rl/approx_kl``, ``rl/clip_fraction``, ``rl/policy_loss``, ``rl/value_loss``,
    ``rl/explained_variance``; all averaged over ranks. They reach every visualizer backend
    the config enables (TensorBoard with ``TensorboardVisBackend``). Per-iteration
    selection rates and cost fraction are logged by the distiller itself
    (``select_<level>``, ``distill_cost``).
    """

    priority = 'NORMAL'  # before the LoggerHook (BELOW_NORMAL) writes the iteration

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        stats = getattr(runner.train_loop, 'rl_stats', None)
        if not stats:
            return
        names = runner.train_loop.distiller.level_names
        scalars = {'reward': stats['rewards'], 'improvement': stats['improvement'],
                   'cost': stats['used_cost']}
        scalars.update({f'select_{n}': v for n, v in zip(names, stats['selected'])})
        for key in ('entropy', 'approx_kl', 'clip_fraction', 'policy_loss', 'value_loss',
                    'explained_variance'):
            scalars[key] = stats[key]
        for key, value in scalars.items():
            runner.message_hub.update_scalar(f'train/rl/{key}', value)
