"""Synthetic datasets for quick, self-contained experiments and tests."""
from .toy_coco import CLASSES, SIZE_GROUPS, generate_toy_coco

__all__ = ['CLASSES', 'SIZE_GROUPS', 'generate_toy_coco']
