"""rlpkd: learned, sample-adaptive knowledge distillation of feature pyramids.

Importing the package registers every component in the ``rlpkd`` registries.
"""
from . import engine, evaluation, models  # noqa: F401  (register components)
from .registry import MODELS

__version__ = '0.1.0'
__all__ = ['MODELS', '__version__']
