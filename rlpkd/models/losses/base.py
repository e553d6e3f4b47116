"""Per-sample feature distillation losses: the contract every level loss follows."""
from abc import ABCMeta, abstractmethod

from torch import Tensor, nn


class PerSampleFeatureLoss(nn.Module, metaclass=ABCMeta):
    """A loss between two feature maps that keeps one value per sample.

    Per-sample values let the distiller weight, mask and reward every
    (sample, level) pair on its own. Computed in float32 (safe under AMP).

    Args:
        loss_weight: multiplies the returned values.
    """

    #: element-wise operations per feature element in the forward pass; the
    #: cost model (``rlpkd.rl.cost_model``) uses it for the per-level FLOPs.
    flops_per_element: float = 3.0  # subtract, square, sum

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, student: Tensor, teacher: Tensor) -> Tensor:
        """Args: student, teacher ``[B, C, H, W]`` of equal shape. Returns ``[B]``."""
        if student.shape != teacher.shape:
            raise ValueError(f'{type(self).__name__}: student {tuple(student.shape)} and '
                             f'teacher {tuple(teacher.shape)} features differ in shape')
        return self.loss_weight * self.per_sample(student.float(), teacher.float())

    @abstractmethod
    def per_sample(self, student: Tensor, teacher: Tensor) -> Tensor:
        """``[B, C, H, W]`` x 2 -> ``[B]`` unweighted loss."""
