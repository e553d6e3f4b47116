from .policy_stats_hook import PolicyStatsHook
from .rl_checkpoint_hook import RLCheckpointHook

__all__ = ['PolicyStatsHook', 'RLCheckpointHook']
