"""DARTS-LS / GDAS-LS search configs through tools/train.py (8 toy images, batch 2): the
search loop, its held-out batches and result files; search -> retrain round trip; resume
mid-search; 2-process gloo DDP."""
from __future__ import annotations

import json
import os
import sys

import pytest
import torch
from nas_runs import NAS, data_options, load, options, train

DARTS_CFG = NAS / 'darts-ls_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'
GDAS_CFG = NAS / 'gdas-ls_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'
RETRAIN_CFG = NAS / 'darts-ls-retrain_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'
LEVELS = ('P2', 'P3', 'P4', 'P5')


@pytest.fixture(scope='module')
def darts_run(nas_data, tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp('darts') / 'search'
    return dict(work=work, log=train(DARTS_CFG, work, options(nas_data)))


def test_darts_search_runs_and_writes_its_result(darts_run):
    work, log = darts_run['work'], darts_run['log']
    assert "phase 'search'" in log and 'nas/val_loss' in log and 'nas/p_use_P2' in log
    result = json.loads((work / 'search_result.json').read_text())
    assert result['method'] == 'DARTS-LS' and result['levels']
    assert result['cost'] <= result['budget'] + 1e-6
    cost = json.loads((work / 'search_cost.json').read_text())
    assert cost['search_iterations'] == 2 and cost['other_iterations'] == 1
    assert cost['devices'] == 1 and cost['search_seconds'] > 0
    assert cost['phases']['search']['search'] and not cost['phases']['warmup']['search']
    ckpt = load(work / 'epoch_1.pth')
    alpha = ckpt['state_dict']['selector.architecture.alpha']
    assert torch.allclose(torch.tensor(result['alpha']), alpha)
    adam = ckpt['rl_state']['learners']['arch']['optimizer']['state'][0]
    assert float(adam['step']) == 2  # one architecture step per search iteration
    assert adam['exp_avg'].shape == alpha.shape and adam['exp_avg'].abs().max() > 0
    loop_state = ckpt['rl_state']['learners']['__loop__']
    assert loop_state['clock']['search']['iterations'] == 2
    assert (loop_state['arch_epoch'], loop_state['arch_drawn']) == (1, 1)  # 1 batch an epoch


def test_retrain_config_reads_the_search_result(darts_run, nas_data, tmp_path):
    """Search -> retrain through tools/train.py: the retrain config's FixedSelector reads
    the found subset (levels_from overridden by --cfg-options) and distils exactly it."""
    result_file = darts_run['work'] / 'search_result.json'
    levels = json.loads(result_file.read_text())['levels']
    opts = dict(data_options(nas_data), **{'model.selector.levels_from': str(result_file),
                                       'train_cfg.max_epochs': 1, 'train_cfg.val_interval': 5})
    log = train(RETRAIN_CFG, tmp_path / 'retrain', opts)
    assert f'FixedSelector: levels {levels}' in log
    line = next(ln for ln in log.splitlines() if 'Epoch(train) [1][1/4]' in ln)
    for name in LEVELS:
        assert f'select_weight_{name}: {float(name in levels):.4f}' in line, line
    # one cost file: the search's phases and the retrain's 4 iterations
    search = json.loads((darts_run['work'] / 'search_cost.json').read_text())
    cost = json.loads((tmp_path / 'retrain' / 'search_cost.json').read_text())
    assert cost['phases']['retrain']['iterations'] == cost['retrain_iterations'] == 4
    assert cost['search_seconds'] == search['search_seconds'] and cost['retrain_seconds'] > 0
    assert cost['total_iterations'] == search['total_iterations'] + 4


def test_gdas_config_builds_its_loop(nas_data, tmp_path):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    import rlpkd  # noqa: F401
    from rlpkd.engine.loops.search_loop import ArchitectureSearchLoop
    from rlpkd.models.selectors import GDASSelector

    cfg = Config.fromfile(str(GDAS_CFG))
    cfg.merge_from_dict(options(nas_data))
    cfg.work_dir = str(tmp_path)
    with DefaultScope.overwrite_default_scope('rlpkd'):  # the runner's scope: restored
        runner = Runner.from_cfg(cfg)
        loop = runner.train_loop
    assert isinstance(loop, ArchitectureSearchLoop)
    assert isinstance(runner.model.selector, GDASSelector)
    train_part = set(loop.dataloader.batch_sampler.sampler.indices)
    held_out = set(loop.arch_dataloader.sampler.indices)
    assert len(held_out) == 2 and len(train_part) == 6 and not train_part & held_out
    assert loop.search_progress(1) == 0.0 and loop.search_progress(2) == 1.0


def test_gdas_resumed_mid_search_matches_uninterrupted(nas_data, tmp_path):
    """GDAS (Gumbel noise from the restored RNG, τ from the iteration): 5 search
    iterations over 2 epochs; resumed from the epoch-1 checkpoint (2 search iterations
    in), the run ends with the same α, Adam state, student and result."""
    opts = options(nas_data, search_iters=5)
    train(GDAS_CFG, tmp_path / 'a', opts)
    train(GDAS_CFG, tmp_path / 'b', opts, '--resume', str(tmp_path / 'a' / 'epoch_1.pth'))
    a, b = load(tmp_path / 'a' / 'epoch_2.pth'), load(tmp_path / 'b' / 'epoch_2.pth')
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for key in a['state_dict']:
        assert torch.equal(a['state_dict'][key], b['state_dict'][key]), key
    adam_a, adam_b = (c['rl_state']['learners']['arch']['optimizer']['state'][0]
                      for c in (a, b))
    assert float(adam_a['step']) == 5
    for key in ('step', 'exp_avg', 'exp_avg_sq'):
        assert torch.equal(torch.as_tensor(adam_a[key]), torch.as_tensor(adam_b[key])), key
    result_a, result_b = (json.loads((tmp_path / w / 'search_result.json').read_text())
                          for w in 'ab')
    assert result_a == result_b
    clock = json.loads((tmp_path / 'b' / 'search_cost.json').read_text())
    assert clock['search_iterations'] == 5  # the clock continued from the checkpoint


def test_two_process_gloo_keeps_alpha_identical(nas_data, tmp_path):
    env = dict(os.environ, PYTHON=sys.executable, PORT='29519')
    log = train(DARTS_CFG, tmp_path / 'ddp', options(nas_data), launcher=2, env=env, timeout=900)
    assert log.count('learnable parameters identical on 2 ranks') >= 2  # both updates
    cost = json.loads((tmp_path / 'ddp' / 'search_cost.json').read_text())
    assert cost['devices'] == 2
    assert cost['search_device_hours'] == pytest.approx(cost['search_seconds'] * 2 / 3600)
