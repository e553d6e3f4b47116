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
