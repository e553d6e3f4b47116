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
    #: cost model (``rlpkd.pyramid.cost_model``) uses it for the per-level FLOPs.
    flops_per_element: float = 3.0  # subtract, square, sum
    #: the fewest spatial positions ``H·W`` at which the loss is not identically zero;
    #: losses that normalise over the positions (PKD, CWD) need 2.
    min_positions: int = 1

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, student: Tensor, teacher: Tensor) -> Tensor:
        """Args: student, teacher ``[B, C, H, W]`` of equal shape. Returns ``[B]``.

        Raises:
            ValueError: the shapes differ, or ``H·W`` is below :attr:`min_positions`
                (:meth:`check_positions`).
        """
        if student.shape != teacher.shape:
            raise ValueError(f'{type(self).__name__}: student {tuple(student.shape)} and '
                             f'teacher {tuple(teacher.shape)} features differ in shape')
        self.check_positions(tuple(student.shape[-2:]))
        return self.loss_weight * self.per_sample(student.float(), teacher.float())

    def check_positions(self, size: tuple, where: str = '') -> None:
        """``ValueError`` if a ``size = (H, W)`` level has fewer than :attr:`min_positions`
        positions: the loss would be identically zero there and teach nothing. ``where``
        (e.g. ``'`model.pyramid` level res5'``) leads the message."""
        if size[0] * size[1] >= self.min_positions:
            return
        raise ValueError(
            f'{where or "a level"} is {size[0]}x{size[1]}: `model.level_loss` '
            f'{type(self).__name__} is identically zero on fewer than {self.min_positions} '
            'spatial positions (it normalises over them), so the level would teach '
            'nothing; use larger inputs, drop the level from `model.pyramid`, or use '
            "dict(type='FeatureMSELoss')")

    @abstractmethod
    def per_sample(self, student: Tensor, teacher: Tensor) -> Tensor:
        """``[B, C, H, W]`` x 2 -> ``[B]`` unweighted loss."""
