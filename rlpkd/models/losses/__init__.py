"""Per-level feature losses; each returns one value per sample (``[B]``)."""
from .base import PerSampleFeatureLoss
from .cwd import ChannelWiseKLLoss
from .mse import FeatureMSELoss
from .pkd import PKDLoss

__all__ = ['PerSampleFeatureLoss', 'FeatureMSELoss', 'PKDLoss', 'ChannelWiseKLLoss']
