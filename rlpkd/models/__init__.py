"""Models: the distiller and the parts it wires (taps, connectors, losses, selectors,
balancers)."""
from .balancers import GradNormBalancer
from .connectors import ConvNormConnector
from .distillers import PyramidDistiller
from .losses import ChannelWiseKLLoss, FeatureMSELoss, PerSampleFeatureLoss, PKDLoss
from .pyramid_pair import PyramidPair, PyramidProbe
from .selectors import FixedSelector, LearnedSelector, LevelSelector, UniformSelector
from .taps import PyramidTap

__all__ = ['ConvNormConnector', 'PyramidDistiller', 'ChannelWiseKLLoss', 'FeatureMSELoss',
           'PerSampleFeatureLoss', 'PKDLoss', 'PyramidPair', 'PyramidProbe', 'FixedSelector',
           'LearnedSelector', 'LevelSelector',
           'UniformSelector', 'PyramidTap', 'GradNormBalancer']
