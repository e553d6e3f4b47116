from .evolution_loop import EvolutionSearchLoop
from .phase_loop import Phase, PhaseTrainLoop
from .search_cost import SearchClock
from .search_loop import ArchitectureSearchLoop, HeldOutSearchLoop

__all__ = ['Phase', 'PhaseTrainLoop', 'HeldOutSearchLoop', 'ArchitectureSearchLoop',
           'EvolutionSearchLoop', 'SearchClock']
from .meta_loop import MetaTrainLoop  # noqa: E402

__all__ += ['MetaTrainLoop']
