"""PKD: feature imitation through the Pearson correlation coefficient (Cao et al., 2022)."""
from torch import Tensor

from rlpkd.registry import MODELS

from .base import PerSampleFeatureLoss


@MODELS.register_module()
class PKDLoss(PerSampleFeatureLoss):
    """MSE of standardised features, halved (Cao et al., NeurIPS 2022, Eq. 4).

    Each channel is standardised to zero mean and unit variance over its spatial
    positions *within the sample*, then ``loss = mean_{c,h,w} (Ŝ - T̂)^2 / 2``.
    For standardised vectors that equals ``mean_c (1 - r_c)`` with r_c the Pearson
    correlation of channel c between student and teacher, so it ignores the
    magnitude gap between the two networks.

    The reference code (mmrazor ``PKDLoss``) standardises over batch and space
    together; we standardise per sample so that one sample's loss does not depend
    on which other samples a selector kept. With batch size 1 the two agree.

    Args:
        loss_weight: multiplies the loss (the paper uses 6 for two-stage detectors).
        eps: added to the standard deviation.
    """

    flops_per_element = 13.0  # 2 x standardise (mean, sub, square, sum, div) + sub, square, sum
    #: the Pearson correlation over one position is 0/0: standardised features are all 0
    min_positions = 2

    def __init__(self, loss_weight: float = 1.0, eps: float = 1e-6) -> None:
        super().__init__(loss_weight)
        self.eps = eps

    def standardise(self, feat: Tensor) -> Tensor:
        """``[B, C, H, W]`` -> same shape, zero mean / unit variance per (b, c)."""
        flat = feat.flatten(2)
        mean = flat.mean(dim=2, keepdim=True)
        std = flat.std(dim=2, unbiased=False, keepdim=True)
        return ((flat - mean) / (std + self.eps)).view_as(feat)

    def per_sample(self, student: Tensor, teacher: Tensor) -> Tensor:
        diff = self.standardise(student) - self.standardise(teacher)
        return diff.pow(2).flatten(1).mean(dim=1) / 2
