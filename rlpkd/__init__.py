"""rlpkd: learned, sample-adaptive knowledge distillation of feature pyramids.

Importing the package registers every component in the ``rlpkd`` registries.
"""
# models first: the selectors import rlpkd.rl, which imports rlpkd.models.taps
from . import models  # noqa: F401, I001  (register components)
from . import engine, evaluation, learners, nas  # noqa: F401, E402
from .registry import MODELS
from .utils import checkpoint_io

# checkpoints load without running code; checkpoint writes are atomic
checkpoint_io.install()

__version__ = '0.1.0'
__all__ = ['MODELS', '__version__']
