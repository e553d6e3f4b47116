"""HeldOutSplitSampler: a fixed split of one dataset into training and held-out parts.

The architecture step of DARTS / GDAS is taken on batches the weights are not trained
on (Liu et al. 2019, sec. 3.1.1: half of the CIFAR-10 training set is held out). Here
both dataloaders of a search config read the *same* dataset; each gets this sampler
with its ``part``, so the split needs no new annotation file and adapts to the
dataset's size. The split is a permutation of ``range(len(dataset))`` seeded by
``split_seed`` (the same on every rank and in every run); within its part a sampler
behaves as mmengine's ``DefaultSampler`` (shuffled per epoch, sharded over ranks).
"""
from __future__ import annotations

import math
from typing import Iterator, List, Optional, Sized

import torch
from mmengine.dataset import DefaultSampler

from rlpkd.registry import DATA_SAMPLERS

PARTS = ('train', 'held_out')


def split_indices(size: int, held_out: float, split_seed: int = 0) -> dict:
    """``{'train': [...], 'held_out': [...]}``: a seeded split of ``range(size)``; the
    held-out part has ``ceil(held_out · size)`` indices, each part at least one."""
    if size < 2:
        raise ValueError(f'a held-out split needs at least 2 samples, the dataset has {size}')
    if not 0 < held_out < 1:
        raise ValueError(f'held_out must be in (0, 1), got {held_out}')
    num = min(max(math.ceil(held_out * size), 1), size - 1)
    order = torch.randperm(size, generator=torch.Generator().manual_seed(split_seed))
    return dict(held_out=sorted(order[:num].tolist()), train=sorted(order[num:].tolist()))


@DATA_SAMPLERS.register_module()
class HeldOutSplitSampler(DefaultSampler):
    """``DefaultSampler`` over one part of a seeded split (module docstring).

    Args:
        dataset: the whole dataset.
        part: ``'train'`` or ``'held_out'``.
        held_out: fraction of the dataset in the held-out part.
        split_seed: seed of the split (keep it equal in both dataloaders).
        shuffle, seed, round_up: as ``DefaultSampler``.
    """

    def __init__(self, dataset: Sized, part: str = 'train', held_out: float = 0.25,
                 split_seed: int = 0, shuffle: bool = True, seed: Optional[int] = None,
                 round_up: bool = True) -> None:
        if part not in PARTS:
            raise ValueError(f'sampler.part must be one of {PARTS}, got {part!r}')
        super().__init__(dataset, shuffle, seed, round_up)
        self.part = part
        self.indices: List[int] = split_indices(len(dataset), held_out, split_seed)[part]
        size = len(self.indices)
        if round_up:
            self.num_samples = math.ceil(size / self.world_size)
            self.total_size = self.num_samples * self.world_size
        else:
            self.num_samples = math.ceil((size - self.rank) / self.world_size)
            self.total_size = size

    def __iter__(self) -> Iterator[int]:
        size = len(self.indices)
        if self.shuffle:
            gen = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(size, generator=gen).tolist()
        else:
            order = list(range(size))
        if self.round_up:
            order = (order * int(self.total_size / size + 1))[:self.total_size]
        return iter([self.indices[i] for i in order[self.rank:self.total_size:self.world_size]])
