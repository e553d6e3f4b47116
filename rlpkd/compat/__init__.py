"""The prototype's Python API (the original RL-PyramidKD README), in one place.

Scripts written against the prototype import from here: its ``from rl.x import Y`` and
``from utils.x import Y`` become ``from rlpkd.compat import Y``. Each name is a thin
façade over the registered component that ``tools/train.py`` runs, or that component
itself:

- ``PolicyNetwork``: :class:`rlpkd.rl.policy.PolicyNetwork`;
- ``DistillationEnvironment`` (one sample, :mod:`.environment`) and
  ``ParallelDistillationEnv`` (:class:`rlpkd.rl.environment.ParallelDistillationEnv`);
- ``PPOTrainer``: :class:`rlpkd.rl.ppo.PPOTrainer`; ``RolloutBuffer`` (:mod:`.buffer`):
  the prototype's multi-step rollout storage for standalone environments;
- ``MAMLTrainer``: :class:`rlpkd.rl.meta_learning.MAMLTrainer`;
- ``GradNorm`` / ``GradNormTrainer`` (:mod:`.gradnorm`): over
  :class:`rlpkd.models.balancers.GradNormBalancer`;
- ``Logger`` (:mod:`.logger`): over mmengine's logger, visualizer and checkpoints.

Inside mmengine training, use the configs (``configs/``) instead.
"""
from rlpkd.rl.meta_learning import MAMLTrainer
from rlpkd.rl.policy import PolicyNetwork
from rlpkd.rl.ppo import PPOTrainer

from .buffer import RolloutBuffer
from .environment import DistillationEnvironment, ParallelDistillationEnv
from .gradnorm import GradNorm, GradNormTrainer
from .logger import Logger

__all__ = ['DistillationEnvironment', 'GradNorm', 'GradNormTrainer', 'Logger', 'MAMLTrainer',
           'ParallelDistillationEnv', 'PolicyNetwork', 'PPOTrainer', 'RolloutBuffer']
