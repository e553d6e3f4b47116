"""rlpkd: learned, sample-adaptive knowledge distillation of feature pyramids.

Importing the package registers every component in the ``rlpkd`` registries, and makes
checkpoint files load without running code and checkpoint writes atomic
(:mod:`rlpkd.utils.checkpoint_io`). The sub-packages import each other one way
(``tests/test_layers.py``), so the order below is alphabetical, not load-bearing.
"""
from . import engine, evaluation, learners, models, nas  # noqa: F401  (registers components)
from .registry import MODELS
from .utils import checkpoint_io

checkpoint_io.install()

__version__ = '0.1.0'
__all__ = ['MODELS', '__version__']
