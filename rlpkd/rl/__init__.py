"""Reinforcement learning of per-sample level selection.

- :mod:`~rlpkd.rl.state`: the state a policy sees (``StateLayout``, ``StateBuilder``);
- :mod:`~rlpkd.rl.cost_model`: FLOPs of each level (``LevelCostModel``);
- :mod:`~rlpkd.rl.reward`: the measured lookahead reward (``LookaheadReward``);
- :mod:`~rlpkd.rl.environment`: the MDP on real pyramids, built once and used by the
  RL selector in training (``ParallelDistillationEnv``, ``DistillationEnvironment``);
- :mod:`~rlpkd.rl.contextual`: a synthetic MDP with a known optimum;
- :mod:`~rlpkd.rl.policy`: the LSTM / independent Bernoulli policy (``PolicyNetwork``);
- :mod:`~rlpkd.rl.gae`, :mod:`~rlpkd.rl.buffer`, :mod:`~rlpkd.rl.ppo`: GAE, the rollout
  buffer and ``PPOTrainer``.
- :mod:`~rlpkd.rl.budget`: the cost constraint's Lagrange multiplier (``CostConstraint``);
- :mod:`~rlpkd.rl.meta_learning`: MAML of the policy across tasks (``MAMLTrainer``);
- :mod:`~rlpkd.rl.task_family`: synthetic contextual tasks for meta-learning;
- :mod:`~rlpkd.rl.policy_io`: saving / loading a policy (``model.selector.policy_init``).
"""
from .buffer import RolloutBuffer
from .contextual import ContextualSelectionEnv
from .cost_model import LevelCostModel
from .environment import DistillationEnvironment, ParallelDistillationEnv
from .gae import compute_gae
from .meta_learning import MAMLTrainer
from .policy import PolicyNetwork
from .ppo import PPOTrainer
from .reward import LookaheadReward
from .state import StateBuilder, StateLayout

__all__ = ['RolloutBuffer', 'ContextualSelectionEnv', 'LevelCostModel',
           'DistillationEnvironment', 'ParallelDistillationEnv', 'compute_gae',
           'LookaheadReward', 'MAMLTrainer', 'PolicyNetwork', 'PPOTrainer', 'StateBuilder',
           'StateLayout']
