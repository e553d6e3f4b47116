"""Plain feature MSE (FitNets-style hint loss)."""
from torch import Tensor

from rlpkd.registry import MODELS

from .base import PerSampleFeatureLoss


@MODELS.register_module()
class FeatureMSELoss(PerSampleFeatureLoss):
    """``mean_{c,h,w} (S - T)^2`` per sample."""

    def per_sample(self, student: Tensor, teacher: Tensor) -> Tensor:
        return (student - teacher).pow(2).flatten(1).mean(dim=1)
