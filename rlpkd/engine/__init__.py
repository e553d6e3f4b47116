"""Training machinery: the hooks and the phase loop (the NAS search, evolution and meta
loops are in :mod:`rlpkd.engine.loops`)."""
from .hooks import PolicyStatsHook, RLCheckpointHook
from .loops import Phase, PhaseTrainLoop

__all__ = ['PolicyStatsHook', 'RLCheckpointHook', 'Phase', 'PhaseTrainLoop']
