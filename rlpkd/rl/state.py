"""The per-sample state the level-selection policy sees, with a named layout.

    state = [ global (512) | level 1 (256) | ... | level L (256)
              | gap (1) | selected (L) | budget (1) ]                        [B, S]

S = 512 + 256 L + L + 2, the same for every task and network: 1542 for L = 4, the
prototype's ``state_dim`` (the default). So a policy trained on
detection loads into segmentation or classification unchanged (tested), which
meta-learning across tasks needs. A policy
moves between pyramids of the *same* number of levels; other L give other sizes.

- global: the student's global feature (last output of ``global_module``, e.g. the
  backbone's last stage), average-pooled ``[B, C_g]``;
- level l: the student's level l, average-pooled ``[B, C_l]``;
- every pooled block is mapped to its size (global 512, levels 256) by a fixed
  projection: the identity when sizes match, else a seeded Gaussian matrix scaled by
  ``1/sqrt(C)`` (a buffer, saved in the checkpoint); then layer-normalised (no
  parameters), so the policy sees the same scale whatever the network;
- gap: the sample's current pyramid gap on pooled features
  (:meth:`rlpkd.models.PyramidPair.pooled_gap`), log1p-compressed;
- selected: the selection made before the first decision (zeros; the sequential policy
  tracks its own choices level by level);
- budget: the episode's cost budget as a fraction of the all-level cost, 1 = none.

The fields before ``selected`` are selectable (``model.selector.state_fields``, in
the canonical order of :data:`FIELDS`): the prototype's ``global``, ``levels``, ``gap``
(the default, :data:`PROTOTYPE_FIELDS`) and the per-level signals of the pair,
``discrepancy`` (L entries), ``agreement`` (L) and ``reliability`` (1)
(:mod:`rlpkd.rl.signals`);
``selected`` and ``budget`` are always there.

Consumers read fields by name (:class:`StateLayout`), never by position.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

GLOBAL_DIM = 512
LEVEL_DIM = 256
#: the selectable fields, in state order (module docstring)
FIELDS = ('global', 'levels', 'gap', 'discrepancy', 'agreement', 'reliability')
#: the prototype's state: the default
PROTOTYPE_FIELDS = ('global', 'levels', 'gap')
#: the fields computed by :class:`rlpkd.rl.signals.StateSignals`
SIGNAL_FIELDS = ('discrepancy', 'agreement', 'reliability')
#: the signal fields with one entry per level (the sequential policy also feeds entry
#: ``l`` to its decision ``l``: :class:`rlpkd.rl.policy.PolicyNetwork`)
LEVEL_SIGNALS = ('discrepancy', 'agreement')


def check_fields(fields: Sequence[str], key: str = 'model.selector.state_fields') -> tuple:
    """``fields`` in state order; unknown, repeated or no names raise ``ValueError``
    naming ``key``."""
    fields = tuple(fields)
    if not fields or any(f not in FIELDS for f in fields) or len(set(fields)) != len(fields):
        raise ValueError(f'`{key}` must name distinct fields of {FIELDS} (at least one), '
                         f'got {list(fields)}')
    return tuple(f for f in FIELDS if f in fields)


@dataclass(frozen=True)
class StateLayout:
    """Named, contiguous fields of a state vector.

    Attributes:
        fields: ``((name, size), ...)`` in order.
    """

    fields: Tuple[Tuple[str, int], ...]

    @classmethod
    def pyramid(cls, num_levels: int = 4, global_dim: int = GLOBAL_DIM,
                level_dim: int = LEVEL_DIM,
                fields: Sequence[str] = PROTOTYPE_FIELDS) -> 'StateLayout':
        """The distillation state (module docstring) with the selectable ``fields``:
        1542 entries for 4 levels and the prototype's fields."""
        sizes = dict(zip(FIELDS, (global_dim, num_levels * level_dim, 1, num_levels,
                                  num_levels, 1)))
        return cls(tuple((name, sizes[name]) for name in check_fields(fields)) +
                   (('selected', num_levels), ('budget', 1)))

    @classmethod
    def features_and_budget(cls, state_dim: int) -> 'StateLayout':
        """Any features followed by the budget: the layout a bare ``state_dim`` implies."""
        if state_dim < 1:
            raise ValueError(f'state_dim must be >= 1 (room for the budget), got {state_dim}')
        fields = (('features', state_dim - 1),) if state_dim > 1 else ()
        return cls(fields + (('budget', 1),))

    @property
    def dim(self) -> int:
        return sum(size for _, size in self.fields)

    def __getitem__(self, name: str) -> slice:
        start = 0
        for field, size in self.fields:
            if field == name:
                return slice(start, start + size)
            start += size
        raise KeyError(f'state layout has no field {name!r}; fields: '
                       f'{[f for f, _ in self.fields]}')

    def names(self) -> Tuple[str, ...]:
        """The field names, in order."""
        return tuple(name for name, _ in self.fields)

    def read(self, state: Tensor, name: str) -> Tensor:
        """Field ``name`` of states ``[..., S]``: ``[..., size]``."""
        return state[..., self[name]]

    def split(self, state: Tensor) -> Dict[str, Tensor]:
        """Every field of ``[..., S]`` states, by name."""
        return {name: self.read(state, name) for name, _ in self.fields}


def projection(in_dim: int, out_dim: int, seed: int) -> Tensor:
    """``[in_dim, out_dim]``: identity if sizes match, else seeded ``N(0, 1/in_dim)``."""
    if in_dim == out_dim:
        return torch.eye(in_dim)
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(in_dim, out_dim, generator=gen) / in_dim ** 0.5


class StateBuilder(nn.Module):
    """Builds ``[B, S]`` states in :attr:`layout` from a student pyramid.

    Args:
        level_channels: ``C_l`` of the student's L levels.
        global_channels: ``C_g`` of the student's global feature.
        seed: seed of the fixed projections (block k uses ``seed + k``).
        fields: the selectable fields of the state (module docstring); the signal
            fields are given to :meth:`forward` by name.
    """

    def __init__(self, level_channels: Sequence[int], global_channels: int,
                 seed: int = 0, fields: Sequence[str] = PROTOTYPE_FIELDS) -> None:
        super().__init__()
        self.level_channels = tuple(int(c) for c in level_channels)
        self.fields = check_fields(fields)
        self.layout = StateLayout.pyramid(len(self.level_channels), fields=self.fields)
        self.register_buffer('global_projection',
                             projection(int(global_channels), GLOBAL_DIM, seed))
        for level, channels in enumerate(self.level_channels):
            self.register_buffer(f'level_projection_{level}',
                                 projection(channels, LEVEL_DIM, seed + 1 + level))

    @property
    def num_levels(self) -> int:
        return len(self.level_channels)

    @property
    def state_dim(self) -> int:
        return self.layout.dim

    def forward(self, global_feat: Tensor, level_feats: Sequence[Tensor], gap: Tensor,
                budget: Optional[Tensor] = None, selected: Optional[Tensor] = None,
                signals: Optional[Dict[str, Tensor]] = None) -> Tensor:
        """Build the states.

        Args:
            global_feat: ``[B, C_g, H, W]`` global feature of the student.
            level_feats: L tensors ``[B, C_l, H_l, W_l]``, the student pyramid.
            gap: ``[B]`` current pyramid gap per sample (``pooled_gap``).
            budget: ``[B]`` cost budget fraction; default 1 (unconstrained).
            selected: ``[B, L]`` selected-so-far mask; default zeros.
            signals: ``{name: [B, size]}`` for every signal field of the layout.

        Returns:
            ``[B, S]`` float32 states.
        """
        if len(level_feats) != self.num_levels:
            raise ValueError(f'{len(level_feats)} levels given, the state has '
                             f'{self.num_levels}')
        signals = signals or {}
        missing = [name for name in self.fields if name in SIGNAL_FIELDS and name not in signals]
        if missing:
            raise ValueError(f'the state has signal fields {missing}, not given')
        blocks = dict(signals)
        if 'global' in self.fields:
            blocks['global'] = normed(pooled(global_feat) @ self.global_projection.float())
        if 'levels' in self.fields:
            blocks['levels'] = torch.cat([
                normed(pooled(feat) @ getattr(self, f'level_projection_{level}').float())
                for level, feat in enumerate(level_feats)], dim=1)
        blocks['gap'] = torch.log1p(gap.float().clamp(min=0))[:, None]
        batch = global_feat.shape[0]
        if selected is None:
            selected = global_feat.new_zeros(batch, self.num_levels, dtype=torch.float32)
        budget = global_feat.new_ones(batch, dtype=torch.float32) if budget is None \
            else budget.float()
        return torch.cat([blocks[name].float() for name in self.fields] +
                         [selected.float(), budget[:, None]], dim=1)


def normed(block: Tensor) -> Tensor:
    """Layer norm without parameters over the last dimension."""
    return F.layer_norm(block, block.shape[-1:])


def pooled(feat: Tensor) -> Tensor:
    """``[B, C, H, W]`` -> ``[B, C]`` float32 global average."""
    return feat.float().mean(dim=(2, 3))
