"""An endless, resumable stream of a dataloader's batches (shared by the search and meta
loops: the NAS held-out batches, each meta-learning task's training batches)."""
from __future__ import annotations

import random
from contextlib import contextmanager
from typing import Iterator, Optional

import numpy as np
import torch
from torch.utils.data import DataLoader


@contextmanager
def preserved_rng() -> Iterator[None]:
    """Leave the torch (CPU and CUDA), numpy and ``random`` generators as they were: a
    dataloader iterator draws its base seed, and a pipeline's augmentations draw from
    numpy, whenever a pass is (re-)opened or a batch re-loaded."""
    np_state, py_state = np.random.get_state(), random.getstate()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        try:
            yield
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)


class BatchStream:
    """Endless batches of ``dataloader``; each new pass sets the sampler's epoch (the
    shuffle order), as the epoch loop does. Its position ``(epoch, drawn)`` is resumable:
    after :meth:`load_state_dict` the next batch re-opens the pass and skips the batches
    already drawn, under :func:`preserved_rng`, so a resumed run draws the same batches
    and random numbers as an uninterrupted one.

    Args:
        dataloader: the batches.
        what: names the dataloader in the error for one that yields nothing.
    """

    def __init__(self, dataloader: DataLoader, what: str = 'a dataloader') -> None:
        self.dataloader = dataloader
        self.what = what
        self.epoch = self.drawn = 0
        self._batches: Optional[Iterator] = None

    def next(self):
        """The next batch (a new pass when one is exhausted)."""
        if self._batches is None:
            with preserved_rng():  # re-doing what the interrupted run had done
                self._open(skip=self.drawn)
        try:
            batch = next(self._batches)
        except StopIteration:
            self.epoch += 1
            self._open(skip=0)
            batch = next(self._batches, None)
            if batch is None:
                raise ValueError(f'{self.what} yields no batch') from None
        self.drawn += 1
        return batch

    def pass_iter(self, epoch: int) -> Iterator:
        """An iterator over pass ``epoch`` (does not move the stream)."""
        batch_sampler = getattr(self.dataloader, 'batch_sampler', None)
        for sampler in (getattr(self.dataloader, 'sampler', None),
                        getattr(batch_sampler, 'sampler', None)):
            if hasattr(sampler, 'set_epoch'):
                sampler.set_epoch(epoch)
        return iter(self.dataloader)

    def _open(self, skip: int) -> None:
        """Start pass ``epoch``, skipping the ``skip`` batches it already gave."""
        self._batches = self.pass_iter(self.epoch)
        for _ in range(skip):
            next(self._batches)
        self.drawn = skip

    def state_dict(self) -> dict:
        return dict(epoch=self.epoch, drawn=self.drawn)

    def load_state_dict(self, state: dict) -> None:
        """Go to ``state``'s position (the pass is re-opened at the next batch)."""
        self.epoch, self.drawn = int(state['epoch']), int(state['drawn'])
        self._batches = None
