"""Fixtures of the engine tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from rlpkd.datasets import generate_toy_coco


@pytest.fixture(scope='module')
def nas_data(tmp_path_factory) -> Path:
    """8 toy COCO training images (a held-out split takes 2) and 4 validation images."""
    root = tmp_path_factory.mktemp('nas') / 'data'
    generate_toy_coco(root, num_train=8, num_val=4, seed=5)
    return root
