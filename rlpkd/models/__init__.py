"""Models: the distiller and the parts it wires (taps, connectors, losses, selectors,
balancers)."""
from .balancers import GradNormBalancer
from .connectors import ConvNormConnector
from .distillers import PyramidDistiller
from .losses import ChannelWiseKLLoss, FeatureMSELoss, PerSampleFeatureLoss, PKDLoss
from .meta_policy import MetaPolicy
from .selectors import FixedSelector, LearnedSelector, LevelSelector, UniformSelector

__all__ = ['ConvNormConnector', 'PyramidDistiller', 'ChannelWiseKLLoss', 'FeatureMSELoss',
           'PerSampleFeatureLoss', 'PKDLoss', 'FixedSelector',
           'LearnedSelector', 'LevelSelector',
           'UniformSelector', 'GradNormBalancer', 'MetaPolicy']
