"""The prototype's module path ``rl.trainer``: :class:`rlpkd.rl.ppo.PPOTrainer`."""
from .ppo import PPOTrainer

__all__ = ['PPOTrainer']
