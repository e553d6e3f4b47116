"""Level selectors: which pyramid levels each sample is distilled on."""
from .base import LearnedSelector, LevelSelector, Selection, SelectionContext
from .rl import RLSelector
from .static import FixedSelector, UniformSelector

__all__ = ['LearnedSelector', 'LevelSelector', 'Selection', 'SelectionContext', 'FixedSelector',
           'UniformSelector', 'RLSelector']
