"""Evaluation metrics of rlpkd (selection statistics of learned selectors)."""
from .selection_metric import LevelSelectionMetric

__all__ = ['LevelSelectionMetric']
