"""Level selectors: which pyramid levels each sample is distilled on."""
from .base import LearnedSelector, LevelSelector, Selection, SelectionContext
from .rl import RLSelector
from .static import FixedSelector, UniformSelector

__all__ = ['LearnedSelector', 'LevelSelector', 'Selection', 'SelectionContext', 'FixedSelector',
           'UniformSelector', 'RLSelector']
from .architecture import ArchitectureSelector  # noqa: E402
from .darts import DARTSSelector  # noqa: E402
from .gdas import GDASSelector  # noqa: E402

__all__ += ['ArchitectureSelector', 'DARTSSelector', 'GDASSelector']
from .evolution import EvolutionSelector  # noqa: E402

__all__ += ['EvolutionSelector']
