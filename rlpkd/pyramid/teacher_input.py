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
from mmengine.model import BaseDataPreprocessor
from torch import Tensor, nn

#: where mmengine / mmdet, mmseg and mmpretrain preprocessors keep their RGB/BGR swap
SWAP_FIELDS = ('_channel_conversion', 'channel_conversion', 'to_rgb')


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
    def of(cls, preprocessor: Optional[nn.Module], key: str = 'model') -> 'Normalisation':
        """Read mmengine / mmdet / mmseg / mmpretrain image data preprocessors.

        These keep their settings in fields, some private: ``_enable_normalize`` and
        ``mean`` / ``std`` (all), and the channel swap as ``_channel_conversion``
        (mmengine, mmdet), ``channel_conversion`` (mmseg) or ``to_rgb`` (mmpretrain).
        mmengine's plain ``BaseDataPreprocessor`` (and no preprocessor) normalise nothing.

        Raises:
            AttributeError: another preprocessor lacks these fields (another mmengine
                version, a custom class); names ``key`` and the missing field rather than
                guess that it does not normalise.
        """
        if preprocessor is None or type(preprocessor) is BaseDataPreprocessor:
            return cls(None, None, False)
        name = type(preprocessor).__name__
        swap_field = next((f for f in SWAP_FIELDS if hasattr(preprocessor, f)), None)
        if swap_field is None or not hasattr(preprocessor, '_enable_normalize'):
            missing = '_enable_normalize' if swap_field else ' / '.join(SWAP_FIELDS)
            raise AttributeError(
                f'`{key}.data_preprocessor` ({name}) has no `{missing}`, the field rlpkd '
                'reads to learn how it normalises images (the teacher must see the '
                "student's batch in its own normalisation); this preprocessor or "
                'mmengine version is not supported')
        swaps = bool(getattr(preprocessor, swap_field))
        if not preprocessor._enable_normalize:
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
