"""Shared test fixtures; the helpers themselves live in :mod:`rlpkd.testing`."""
from __future__ import annotations

import pytest
import torch

from rlpkd.testing import build_distiller


@pytest.fixture
def distiller():
    torch.manual_seed(0)
    return build_distiller()
