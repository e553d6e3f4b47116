"""Reinforcement learning of per-sample level selection.

- :mod:`~rlpkd.rl.state`: the state a policy sees (``StateLayout``, ``StateBuilder``);
- :mod:`~rlpkd.rl.reward`: the measured lookahead reward (``LookaheadReward``);
- :mod:`~rlpkd.rl.environment`: the MDP on real pyramids, built once and used by the
  RL selector in training (``ParallelDistillationEnv``);
- :mod:`~rlpkd.rl.policy`: the LSTM / independent Bernoulli policy (``PolicyNetwork``);
- :mod:`~rlpkd.rl.gae`, :mod:`~rlpkd.rl.ppo`: GAE and ``PPOTrainer``.
- :mod:`~rlpkd.rl.budget`: the cost constraint's Lagrange multiplier (``CostConstraint``);
- :mod:`~rlpkd.rl.meta_learning`: MAML of the policy across tasks (``MAMLTrainer``);
- :mod:`~rlpkd.rl.policy_io`: saving / loading a policy (``model.selector.policy_init``).
"""
from .environment import ParallelDistillationEnv
from .gae import compute_gae
from .meta_learning import MAMLTrainer
from .policy import PolicyNetwork
from .ppo import PPOTrainer
from .reward import LookaheadReward
from .state import StateBuilder, StateLayout

__all__ = ['ParallelDistillationEnv', 'compute_gae',
           'LookaheadReward', 'MAMLTrainer', 'PolicyNetwork', 'PPOTrainer', 'StateBuilder',
           'StateLayout']
