"""Training machinery: the phase loop and the hooks around it."""
from .hooks import PolicyStatsHook, RLCheckpointHook
from .loops import Phase, PhaseTrainLoop

__all__ = ['PolicyStatsHook', 'RLCheckpointHook', 'Phase', 'PhaseTrainLoop']
