"""Reductions over the ranks of a distributed job (identity on one process).

Everything is packed into one flat buffer, so a reduction costs one ``all_reduce``
whatever the number of tensors. ``mmengine.dist`` moves the buffer to the backend's
device (NCCL: the current GPU), so CPU statistics reduce under NCCL too.
"""
from __future__ import annotations

from typing import Iterable, List, Optional, Sequence

import torch
from mmengine import dist
from torch import Tensor


def world_size() -> int:
    """Number of ranks; 1 when ``torch.distributed`` is not initialised."""
    return dist.get_world_size()


def sum_over_ranks(tensors: Sequence[Tensor]) -> List[Tensor]:
    """Element-wise sums over ranks of ``tensors`` (any shapes; one ``all_reduce``).

    Returns new tensors with the inputs' shapes and devices, in float64 where any input
    is float64, else float32; the inputs are not modified.
    """
    tensors = [torch.as_tensor(t).detach() for t in tensors]
    dtype = torch.float64 if any(t.dtype == torch.float64 for t in tensors) else torch.float32
    if world_size() == 1:
        return [t.to(dtype, copy=True) for t in tensors]
    device = tensors[0].device
    flat = torch.cat([t.reshape(-1).to(device, dtype) for t in tensors])
    dist.all_reduce(flat, op='sum')
    out, start = [], 0
    for t in tensors:
        out.append(flat[start:start + t.numel()].view(t.shape).to(t.device))
        start += t.numel()
    return out


def mean_over_ranks(tensors: Sequence[Tensor]) -> List[Tensor]:
    """Element-wise means over ranks (see :func:`sum_over_ranks`)."""
    n = world_size()
    return [t / n for t in sum_over_ranks(tensors)]


def check_identical_over_ranks(tensors: Iterable[Tensor]) -> Optional[str]:
    """Raise ``RuntimeError`` if ``tensors`` (e.g. a module's parameters) differ across
    ranks; cheap: two float64 sums per rank, compared by a min and a max reduction, so
    every rank reaches the same verdict. Returns ``'<n> ranks (sum <s>)'`` when
    distributed, ``None`` on one process."""
    n = world_size()
    if n == 1:
        return None
    flat = torch.cat([t.detach().reshape(-1).double() for t in tensors])
    summary = torch.stack([flat.sum(), flat.pow(2).sum()])
    low, high = summary.clone(), summary.clone()
    dist.all_reduce(low, op='min')
    dist.all_reduce(high, op='max')
    if not torch.equal(low, high):
        raise RuntimeError(f'parameters differ across ranks: {low.tolist()} vs '
                           f'{high.tolist()}')
    return f'{n} ranks (sum {float(summary[0]):.6f})'
