"""Connectors: per-level adapters that map a student level onto its teacher level."""
from typing import Optional

from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from rlpkd.registry import MODELS


@MODELS.register_module()
class ConvNormConnector(BaseModule):
    """1x1 convolution + normalisation from student to teacher channels.

    Args:
        in_channels: student channels of the level (filled in by the distiller).
        out_channels: teacher channels of the level (filled in by the distiller).
        norm_cfg: normalisation layer; ``None`` for a bare convolution.
        init_cfg: mmengine initialisation config.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        self.conv = ConvModule(in_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None)

    def forward(self, x: Tensor) -> Tensor:
        """``[B, C_s, H, W]`` -> ``[B, C_t, H, W]``."""
        return self.conv(x)
