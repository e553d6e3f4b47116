"""Shared test fixtures; the helpers themselves live in :mod:`rlpkd.testing`."""
from __future__ import annotations

import copy

import pytest
import torch
from mmengine.registry import DefaultScope

from rlpkd.testing import build_distiller


@pytest.fixture(autouse=True)
def restore_default_scope():
    """A runner built in a test makes its config's scope (mmdet, mmengine, ...) the
    process-wide default; restore the previous one so later tests build unscoped
    ``rlpkd`` types as they would alone."""
    saved = copy.copy(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict = saved


@pytest.fixture
def distiller():
    torch.manual_seed(0)
    return build_distiller()
