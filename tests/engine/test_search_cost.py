"""search_cost.json: the clock's schema and resume, and an RL-PyramidKD run writing the
same file as the NAS searches (its policy-learning phases are its search)."""
from __future__ import annotations

import json

import pytest
from nas_runs import ROOT, data_options, train

from rlpkd.engine.loops import SearchClock

RL_CFG = ROOT / 'configs' / 'faster_rcnn' / 'rlpkd_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'


def test_clock_splits_search_and_other_phases():
    clock = SearchClock()
    for phase, search, seconds in (('warmup', False, 1.0), ('policy', True, 2.0),
                                   ('policy', True, 4.0), ('joint', True, 3.0)):
        clock.add(phase, search, seconds)
    out = clock.summary(devices=2)
    assert (out['search_seconds'], out['search_iterations']) == (9.0, 3)
    assert (out['other_seconds'], out['other_iterations']) == (1.0, 1)
    assert (out['total_seconds'], out['total_iterations']) == (10.0, 4)
    assert out['search_device_hours'] == pytest.approx(9.0 * 2 / 3600)
    assert out['phases']['policy'] == dict(seconds=6.0, iterations=2, search=True)
    resumed = SearchClock()
    resumed.load_state_dict(json.loads(json.dumps(clock.state_dict())))
    resumed.add('joint', True, 1.0)
    assert resumed.summary(1)['search_iterations'] == 4
    assert clock.summary(1)['search_iterations'] == 3  # the state was copied


def test_rl_run_writes_search_cost(nas_data, tmp_path):
    """1 warm-up, 4 policy (one PPO update) and 2 joint iterations."""
    opts = dict(data_options(nas_data), **{
        'train_cfg.phases.0.epochs': None, 'train_cfg.phases.0.iters': 1,
        'train_cfg.phases.1.epochs': None, 'train_cfg.phases.1.iters': 4,
        'train_cfg.phases.1.collect_samples': 1, 'train_cfg.phases.1.update_interval': 4,
        'train_cfg.phases.2.epochs': None, 'train_cfg.phases.2.iters': 2,
        'train_cfg.phases.2.collect_interval': 2, 'train_cfg.phases.2.update_interval': 2})
    log = train(RL_CFG, tmp_path / 'rl', opts)
    assert 'rl/reward' in log
    cost = json.loads((tmp_path / 'rl' / 'search_cost.json').read_text())
    assert (cost['search_iterations'], cost['other_iterations']) == (6, 1)
    assert {name: p['iterations'] for name, p in cost['phases'].items()} == \
        dict(warmup=1, policy=4, joint=2)
    assert cost['phases']['policy']['search'] and not cost['phases']['warmup']['search']
    assert cost['devices'] == 1 and cost['search_seconds'] > 0
    assert not (tmp_path / 'rl' / 'search_result.json').exists()  # no subset to report
