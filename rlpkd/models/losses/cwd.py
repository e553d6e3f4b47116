"""Channel-wise distillation for dense prediction (Shu et al., ICCV 2021)."""
import torch.nn.functional as F
from torch import Tensor

from rlpkd.registry import MODELS

from .base import PerSampleFeatureLoss


@MODELS.register_module()
class ChannelWiseKLLoss(PerSampleFeatureLoss):
    """KL divergence between per-channel spatial distributions (CWD, Eq. 2-3).

    Each channel is turned into a distribution over its ``H·W`` positions with a
    softmax at temperature ``tau``; per sample

        loss = tau^2 / C · Σ_c Σ_i p_T(c, i) · (log p_T(c, i) - log p_S(c, i)),

    which is the reference ``ChannelWiseDivergence`` (mmrazor) before its division
    by the batch size.

    Args:
        tau: softmax temperature.
        loss_weight: multiplies the loss.
    """

    flops_per_element = 12.0  # 2 x log-softmax (div, exp, sum, sub) + exp, sub, mul, sum
    #: a softmax over one position is the constant 1: both distributions agree
    min_positions = 2

    def __init__(self, tau: float = 1.0, loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight)
        self.tau = tau

    def per_sample(self, student: Tensor, teacher: Tensor) -> Tensor:
        num_channels = student.shape[1]
        log_p_s = F.log_softmax(student.flatten(2) / self.tau, dim=2)
        log_p_t = F.log_softmax(teacher.flatten(2) / self.tau, dim=2)
        kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=(1, 2))
        return kl * self.tau ** 2 / num_channels
