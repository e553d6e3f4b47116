"""Level selectors: which pyramid levels each sample is distilled on."""
from .base import LevelSelector, Selection, SelectionContext
from .rl import RLSelector
from .static import FixedSelector, UniformSelector

__all__ = ['LevelSelector', 'Selection', 'SelectionContext', 'FixedSelector',
           'UniformSelector', 'RLSelector']
