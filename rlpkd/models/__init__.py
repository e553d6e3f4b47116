"""Models: the distiller and the parts it wires (taps, connectors, losses, selectors,
balancers)."""
from .balancers import GradNormBalancer
from .connectors import ConvNormConnector
from .distillers import PyramidDistiller
from .losses import ChannelWiseKLLoss, FeatureMSELoss, PerSampleFeatureLoss, PKDLoss
from .selectors import FixedSelector, LevelSelector, UniformSelector
from .taps import PyramidTap

__all__ = ['ConvNormConnector', 'PyramidDistiller', 'ChannelWiseKLLoss', 'FeatureMSELoss',
           'PerSampleFeatureLoss', 'PKDLoss', 'FixedSelector', 'LevelSelector',
           'UniformSelector', 'PyramidTap', 'GradNormBalancer']
