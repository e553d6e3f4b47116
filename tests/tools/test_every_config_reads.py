"""Every shipped config reads (its ``_base_`` chain, ``rlpkd::`` / ``mmdet::`` bases and
``{{_base_.x}}`` references resolve) and names a model and a training loop; the full-scale
configs that no test trains are covered here at least this far."""
from __future__ import annotations

from pathlib import Path

import pytest

from rlpkd.apis.cli import read_config

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
FILES = sorted(p for p in CONFIGS.rglob('*.py') if '_base_' not in p.parts)


@pytest.mark.parametrize('path', FILES, ids=[str(p.relative_to(CONFIGS)) for p in FILES])
def test_config_reads(path):
    cfg = read_config(str(path))
    assert cfg.model.get('type'), f'{path}: no model.type'
    assert cfg.train_cfg.get('type') or cfg.train_cfg.get('by_epoch') is not None \
        or cfg.train_cfg.get('max_epochs') or cfg.train_cfg.get('max_iters'), path
