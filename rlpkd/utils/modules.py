"""Module helpers."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from torch import nn


@contextmanager
def eval_mode(*modules: nn.Module) -> Iterator[None]:
    """Put ``modules`` (and their children) in eval mode inside the block; restore each
    submodule's own ``training`` flag afterwards, so a partly frozen model comes back
    exactly as it was (a plain ``train(was_training)`` would unfreeze its BN layers)."""
    saved = [(m, m.training) for module in modules for m in module.modules()]
    for module in modules:
        module.eval()
    try:
        yield
    finally:
        for m, mode in saved:
            m.training = mode


@contextmanager
def without_activation_checkpointing(module: nn.Module) -> Iterator[None]:
    """Run ``module`` without the activation checkpointing OpenMMLab blocks do when their
    ``with_cp`` is set (mmdet / mmseg / mmpretrain ResNet blocks, ...), restoring it after.

    Checkpointing is a memory trade for the training backward; ``torch.func``
    transforms cannot differentiate through its reentrant ``autograd.Function``, and a
    per-sample virtual step keeps no graph large enough to need it.
    """
    flagged = [m for m in module.modules() if getattr(m, 'with_cp', False) is True]
    for m in flagged:
        m.with_cp = False
    try:
        yield
    finally:
        for m in flagged:
            m.with_cp = True
