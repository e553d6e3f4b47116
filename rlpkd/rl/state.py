"""The per-sample state the level-selection policy sees.

    state = [ global (G) | pooled level 1 (C_1) | ... | pooled level L (C_L)
              | distill loss (1) | selected-so-far mask (L) | budget (1) ]     [B, S]

S = G + Σ_l C_l + 1 + L + 1; for a 256-channel, 4-level FPN and G = 512 that is
512 + 1024 + 1 + 4 + 1 = 1542, the prototype's ``state_dim``.

- global: the student's last backbone stage, average-pooled ``[B, C_g]`` and mapped
  to G by a fixed random projection (seeded, saved in the checkpoint) when C_g != G;
- pooled level l: the student's level l average-pooled ``[B, C_l]``;
- each feature block is layer-normalised (no parameters), so the policy sees the
  same scale whatever the network;
- distill loss: the sample's current pyramid gap, measured cheaply on pooled features
  (:func:`pooled_gap`: a 1x1 connector and eval-mode BN commute with average pooling,
  so this is the MSE of the pooled connector output at no extra full-resolution
  compute), log1p-compressed;
- selected-so-far mask: what the episode has chosen before its first decision (zeros;
  the sequential policy tracks its own choices level by level);
- budget: the episode's cost budget as a fraction of the all-level cost, 1 = none.
  Contract with :class:`rlpkd.rl.policy.PolicyNetwork`: always the LAST entry.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class StateBuilder(nn.Module):
    """Builds ``[B, S]`` states from a student pyramid (see the module docstring).

    Args:
        level_channels: ``C_l`` of the student's L levels.
        global_channels: channels ``C_g`` of the student's last backbone stage.
        global_dim: G, the size of the global block.
        seed: seed of the fixed projection.
    """

    def __init__(self, level_channels: Sequence[int], global_channels: int,
                 global_dim: int = 512, seed: int = 0) -> None:
        super().__init__()
        self.level_channels = tuple(int(c) for c in level_channels)
        self.global_dim = global_dim
        gen = torch.Generator().manual_seed(seed)
        if global_channels != global_dim:
            proj = torch.randn(global_channels, global_dim, generator=gen)
            proj /= global_channels ** 0.5
        else:
            proj = torch.eye(global_dim)
        self.register_buffer('projection', proj)

    @property
    def num_levels(self) -> int:
        return len(self.level_channels)

    @property
    def state_dim(self) -> int:
        return self.global_dim + sum(self.level_channels) + 1 + self.num_levels + 1

    def forward(self, global_feat: Tensor, level_feats: Sequence[Tensor], distill_loss: Tensor,
                budget: Optional[Tensor] = None, selected: Optional[Tensor] = None) -> Tensor:
        """Build the state.

        Args:
            global_feat: ``[B, C_g, H, W]`` last backbone stage of the student.
            level_feats: L tensors ``[B, C_l, H_l, W_l]``, the student pyramid.
            distill_loss: ``[B]`` current all-level distillation loss per sample.
            budget: ``[B]`` cost budget fraction; default 1 (unconstrained).
            selected: ``[B, L]`` selected-so-far mask; default zeros.

        Returns:
            ``[B, S]`` float32 states.
        """
        batch = global_feat.shape[0]
        blocks = [pooled(global_feat) @ self.projection.to(global_feat.device).float()]
        blocks += [pooled(feat) for feat in level_feats]
        blocks = [F.layer_norm(b, b.shape[-1:]) for b in blocks]
        ones = global_feat.new_ones(batch, dtype=torch.float32)
        if selected is None:
            selected = global_feat.new_zeros(batch, self.num_levels, dtype=torch.float32)
        budget = ones if budget is None else budget.float()
        return torch.cat([*blocks, torch.log1p(distill_loss.float().clamp(min=0))[:, None],
                          selected.float(), budget[:, None]], dim=1)


def pooled(feat: Tensor) -> Tensor:
    """``[B, C, H, W]`` -> ``[B, C]`` float32 global average."""
    return feat.float().mean(dim=(2, 3))


@torch.no_grad()
def pooled_gap(distiller: nn.Module, student_feats: Sequence[Tensor],
               teacher_feats: Sequence[Tensor]) -> Tensor:
    """``[B]`` mean over levels of ``mean_c (connector(pool S_l) − pool T_l)^2``.

    Connectors run in eval mode on ``[B, C, 1, 1]`` pooled inputs (exactly the pooled
    connector output for a 1x1 conv + eval BN).
    """
    connectors = distiller.connectors
    was_training = connectors.training
    connectors.eval()
    try:
        gaps = []
        for name, s_feat, t_feat in zip(distiller.level_names, student_feats, teacher_feats):
            s = pooled(s_feat)[:, :, None, None]
            if name in connectors:  # in the connector's dtype (AMP: features are half)
                weight = next(connectors[name].parameters(), None)
                s = connectors[name](s if weight is None else s.to(weight.dtype)).float()
            gaps.append((s.flatten(1) - pooled(t_feat)).pow(2).mean(dim=1))
    finally:
        connectors.train(was_training)
    return torch.stack(gaps, dim=1).mean(dim=1)
