from .phase_loop import Phase, PhaseTrainLoop
from .search_loop import ArchitectureSearchLoop

__all__ = ['Phase', 'PhaseTrainLoop', 'ArchitectureSearchLoop']
