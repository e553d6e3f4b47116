"""Synthetic datasets for quick, self-contained experiments and tests."""
from .toy_ade import SEG_CLASSES, SEG_PALETTE, generate_toy_ade
from .toy_coco import CLASSES, SIZE_GROUPS, generate_toy_coco
from .toy_folder import CLS_CLASSES, generate_toy_folder

__all__ = ['CLASSES', 'SIZE_GROUPS', 'generate_toy_coco', 'SEG_CLASSES', 'SEG_PALETTE',
           'generate_toy_ade', 'CLS_CLASSES', 'generate_toy_folder']
