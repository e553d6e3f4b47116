"""Logs what a learned selector's learner does and learns."""
from __future__ import annotations

from mmengine.hooks import Hook

from rlpkd.registry import HOOKS

from ..loops.protocols import LearnerStatsLoop, require


@HOOKS.register_module()
class PolicyStatsHook(Hook):
    """Send the statistics of each learner update to the mmengine logger.

    With the PPO learner (:class:`rlpkd.learners.PPOLearner`): ``train/rl/reward``,
    ``rl/improvement``, ``rl/cost`` (distillation-cost fraction used), ``rl/select_<level>``
    (selection rate per level), ``rl/entropy``, ``rl/approx_kl``, ``rl/clip_fraction``,
    ``rl/policy_loss``, ``rl/value_loss``, ``rl/explained_variance``; all averaged over
    ranks. They reach every visualizer backend the config enables (TensorBoard with
    ``TensorboardVisBackend``). Per-iteration selection rates and cost fraction are
    logged by the distiller itself (``select_<level>``, ``distill_cost``).

    Needs a loop with :class:`~rlpkd.engine.loops.protocols.LearnerStatsLoop`
    (``train_cfg.type='rlpkd.PhaseTrainLoop'`` or a search loop).
    """

    priority = 'NORMAL'  # before the LoggerHook (BELOW_NORMAL) writes the iteration

    def before_train(self, runner) -> None:
        require(runner.train_loop, LearnerStatsLoop, 'PolicyStatsHook (custom_hooks)')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        for key, value in runner.train_loop.learner_stats().items():
            runner.message_hub.update_scalar(f'train/{key}', value)
