"""Shared test fixtures; the helpers themselves live in :mod:`rlpkd.testing`."""
from __future__ import annotations

import copy

import pytest
import torch
from mmengine.registry import DefaultScope

from rlpkd.testing import build_distiller


def pytest_configure(config):
    """The fault and bad-input suite: ``pytest -m bad_input`` / ``-m fault`` (the counts
    the README quotes come from ``benchmarks/fault_suite.py``)."""
    config.addinivalue_line('markers', 'bad_input: a bad config, file or argument fails '
                            'early, naming the key, and loses nothing')
    config.addinivalue_line('markers', 'fault: a fault during a run (kill -9, a torn or '
                            'failed write, a non-finite loss) is survived or named')


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
