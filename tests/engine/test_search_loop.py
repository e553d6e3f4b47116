"""NAS search configs through tools/train.py: the search loop, its held-out batches and
result files (a 3-iteration DARTS-LS run on 8 toy images); GDAS-LS builds."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.runner import CheckpointLoader

from rlpkd.datasets import generate_toy_coco

ROOT = Path(__file__).resolve().parents[2]
NAS = ROOT / 'configs' / 'nas'
DARTS_CFG = NAS / 'darts-ls_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'
GDAS_CFG = NAS / 'gdas-ls_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'


def options(data: Path) -> dict:
    """8 training images (2 held out), batch 2: one warm-up and two search iterations
    (one epoch), no validation, no workers."""
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader',
               'train_cfg.arch_dataloader')
    opts = {f'{k}.{v}': value for k in loaders for v, value in (
        ('dataset.data_root', f'{data}/'), ('num_workers', 0),
        ('persistent_workers', False), ('batch_size', 2))}
    return dict(opts, **{'val_evaluator.ann_file': f'{data}/annotations/instances_val.json',
                         'model.teacher_ckpt': None, 'train_cfg.val_begin': 100,
                         'train_cfg.phases.0.epochs': None, 'train_cfg.phases.0.iters': 1,
                         'train_cfg.phases.1.epochs': None, 'train_cfg.phases.1.iters': 2,
                         'default_hooks.logger.interval': 1})


def cli_options(data: Path) -> list[str]:
    return [f'{k}={v}' for k, v in options(data).items()]


@pytest.fixture(scope='module')
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('nas') / 'data'
    generate_toy_coco(root, num_train=8, num_val=4, seed=5)
    return root


def test_darts_search_runs_and_writes_its_result(data, tmp_path):
    work = tmp_path / 'darts'
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / 'train.py'), str(DARTS_CFG),
                           '--work-dir', str(work), '--cfg-options', *cli_options(data)],
                          cwd=ROOT, capture_output=True, text=True)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert "phase 'search'" in log and 'nas/val_loss' in log and 'nas/p_use_P2' in log
    result = json.loads((work / 'search_result.json').read_text())
    assert result['method'] == 'DARTS-LS' and result['levels']
    assert result['cost'] <= result['budget'] + 1e-6
    cost = json.loads((work / 'search_cost.json').read_text())
    assert cost['search_iterations'] == 2 and cost['other_iterations'] == 1
    assert cost['devices'] == 1 and cost['search_seconds'] > 0
    ckpt = CheckpointLoader.load_checkpoint(str(work / 'epoch_1.pth'), 'cpu')
    alpha = ckpt['state_dict']['selector.architecture.alpha']
    assert torch.allclose(torch.tensor(result['alpha']), alpha)
    adam = ckpt['rl_state']['learners']['arch']['optimizer']['state'][0]
    assert float(adam['step']) == 2  # one architecture step per search iteration
    assert adam['exp_avg'].shape == alpha.shape and adam['exp_avg'].abs().max() > 0
    loop_state = ckpt['rl_state']['learners']['__search_loop__']
    assert loop_state['clock']['search_iterations'] == 2
    assert (loop_state['arch_epoch'], loop_state['arch_drawn']) == (1, 1)  # 1 batch an epoch


def test_gdas_config_builds_its_loop(data, tmp_path):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    import rlpkd  # noqa: F401
    from rlpkd.engine.loops.search_loop import ArchitectureSearchLoop
    from rlpkd.models.selectors import GDASSelector

    cfg = Config.fromfile(str(GDAS_CFG))
    cfg.merge_from_dict(options(data))
    cfg.work_dir = str(tmp_path)
    with DefaultScope.overwrite_default_scope('rlpkd'):  # the runner's scope: restored
        runner = Runner.from_cfg(cfg)
        loop = runner.train_loop
    assert isinstance(loop, ArchitectureSearchLoop)
    assert isinstance(runner.model.selector, GDASSelector)
    train = set(loop.dataloader.batch_sampler.sampler.indices)
    held_out = set(loop.arch_dataloader.sampler.indices)
    assert len(held_out) == 2 and len(train) == 6 and not train & held_out
    assert loop.search_progress(1) == 0.0 and loop.search_progress(2) == 1.0
