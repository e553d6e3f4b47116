from .phase_loop import Phase, PhaseTrainLoop

__all__ = ['Phase', 'PhaseTrainLoop']
