"""Toy NAS runs through tools/train.py, shared by the search-loop tests: options for
8 toy images (2 held out) at batch 2 without dataloader workers, a train helper. The
data itself is the ``nas_data`` fixture (``conftest.py``)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mmengine.runner import CheckpointLoader

ROOT = Path(__file__).resolve().parents[2]
NAS = ROOT / 'configs' / 'nas'


def data_options(data: Path, loaders=('train_dataloader', 'val_dataloader',
                                      'test_dataloader')) -> dict:
    """The toy data at ``data``, batch 2, no workers (every random number in the main
    process: exact resume), no teacher checkpoint."""
    opts = {f'{k}.{v}': value for k in loaders for v, value in (
        ('dataset.data_root', f'{data}/'), ('num_workers', 0),
        ('persistent_workers', False), ('batch_size', 2))}
    return dict(opts, **{'val_evaluator.ann_file': f'{data}/annotations/instances_val.json',
                         'model.teacher_ckpt': None, 'default_hooks.logger.interval': 1})


def options(data: Path, search_iters: int = 2) -> dict:
    """8 training images (2 held out): one warm-up iteration, then ``search_iters``
    search iterations (3 an epoch), a checkpoint every epoch, no validation."""
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader',
               'train_cfg.arch_dataloader')
    return dict(data_options(data, loaders), **{
        'train_cfg.val_begin': 100, 'default_hooks.checkpoint.interval': 1,
        'train_cfg.phases.0.epochs': None, 'train_cfg.phases.0.iters': 1,
        'train_cfg.phases.1.epochs': None, 'train_cfg.phases.1.iters': search_iters})


def cli(opts: dict) -> list[str]:
    return [f'{k}={v}' for k, v in opts.items()]


def train_cmd(config: Path, work: Path, opts: dict, *extra: str, launcher=None) -> list[str]:
    cmd = [sys.executable, str(ROOT / 'tools' / 'train.py'), str(config)] if launcher is None \
        else ['bash', str(ROOT / 'tools' / 'dist_train.sh'), str(config), str(launcher)]
    return [*cmd, '--work-dir', str(work), *extra, '--cfg-options', *cli(opts)]


def train(config: Path, work: Path, opts: dict, *extra: str, launcher=None, **kwargs) -> str:
    proc = subprocess.run(train_cmd(config, work, opts, *extra, launcher=launcher),
                          cwd=ROOT, capture_output=True, text=True, **kwargs)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    return log


def load(path: Path) -> dict:
    return CheckpointLoader.load_checkpoint(str(path), 'cpu')
