from .policy_stats_hook import PolicyStatsHook
from .retrain_cost_hook import RetrainCostHook
from .rl_checkpoint_hook import RLCheckpointHook

__all__ = ['PolicyStatsHook', 'RetrainCostHook', 'RLCheckpointHook']
