"""The teacher's view of the student's batch: its own input normalisation.

The distiller runs one data preprocessor, the student's. A teacher trained with another
normalisation (mmdet's caffe-style R101: BGR, mean 103.53 / 116.28 / 123.675, std 1;
a pytorch-style student: RGB, ImageNet mean / std) would silently see wrongly scaled,
channel-swapped images. :class:`TeacherInput` maps the student's normalised batch back
to the raw image and through the teacher's own normalisation::

    raw = x_s · std_s + mean_s              (undo the student's normalisation)
    raw = flip_channels(raw)                 (only if exactly one of them swaps RGB/BGR)
    x_t = (raw − mean_t) / std_t             (the teacher's normalisation)

Padding is the one approximation: the student's preprocessor pads *after* normalising
(``pad_value`` in its normalised space), so padded pixels reach the teacher as the
renormalised student pad value instead of the teacher's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class Normalisation:
    """What a data preprocessor does to the channels of an image.

    Attributes:
        mean, std: ``[C]`` (``None``: no normalisation).
        swaps_channels: converts BGR <-> RGB.
    """

    mean: Optional[tuple]
    std: Optional[tuple]
    swaps_channels: bool

    @classmethod
    def of(cls, preprocessor: Optional[nn.Module]) -> 'Normalisation':
        """Read mmengine / mmdet / mmseg / mmpretrain image data preprocessors."""
        if preprocessor is None:
            return cls(None, None, False)
        swaps = bool(getattr(preprocessor, '_channel_conversion', False)
                     or getattr(preprocessor, 'channel_conversion', False))
        if not getattr(preprocessor, '_enable_normalize', False):
            return cls(None, None, swaps)
        return cls(tuple(preprocessor.mean.flatten().tolist()),
                   tuple(preprocessor.std.flatten().tolist()), swaps)

    @property
    def channels(self) -> Optional[int]:
        return None if self.mean is None else len(self.mean)

    def describe(self) -> str:
        return (f'mean {self.mean}, std {self.std}, '
                f'{"swaps RGB/BGR" if self.swaps_channels else "keeps channel order"}')


class TeacherInput:
    """Maps the student's preprocessed batch to what the teacher's preprocessor makes.

    Args:
        student: the student's :class:`Normalisation`.
        teacher: the teacher's.
    """

    def __init__(self, student: Normalisation, teacher: Normalisation) -> None:
        self.student, self.teacher = student, teacher

    @property
    def identity(self) -> bool:
        return self.student == self.teacher

    def __call__(self, inputs: Tensor) -> Tensor:
        """``[B, C, H, W]`` student-normalised -> teacher-normalised (same dtype)."""
        if self.identity:
            return inputs
        x = inputs.float()
        if self.student.mean is not None:
            x = x * _column(self.student.std, x) + _column(self.student.mean, x)
        if self.student.swaps_channels != self.teacher.swaps_channels:
            x = x.flip(1)
        if self.teacher.mean is not None:
            x = (x - _column(self.teacher.mean, x)) / _column(self.teacher.std, x)
        return x.to(inputs.dtype)


def _column(values: tuple, like: Tensor) -> Tensor:
    return torch.tensor(values, device=like.device, dtype=like.dtype).view(1, -1, 1, 1)
