"""benchmarks/step_cost.py: FLOPs and time of uniform KD, RL-PyramidKD and its
state_gap=none variant on the toy Faster R-CNN distiller, batches of one image."""
from __future__ import annotations

import json

import pytest
from benchmark_smoke import finite, run, table_rows

from rlpkd.datasets import generate_toy_coco


def test_step_cost_writes_its_results(tmp_path):
    data, out = tmp_path / 'data', tmp_path / 'step_cost'
    generate_toy_coco(data, num_train=6, num_val=1)  # fewer than the batches it takes
    run('step_cost', '--iters', '1', '--warmup', '0', '--flop-iters', '1', '--keep-prob',
        '0.01', '--batch-size', '1', '--data', data, '--out', out)
    record = json.loads(out.with_suffix('.json').read_text())
    assert record['args']['batch_size'] == 1
    results = record['results']
    uniform, rl = results['uniform KD'], results['RL-PyramidKD']
    none = results['RL-PyramidKD, state_gap=none, keep prob 0.01']
    assert len(results) == 3
    for r in results.values():
        assert finite(r['step_s'], r['iter_s'], r['step_flops'], r['iter_flops'],
                      r['teacher_flops'], r['teacher_rate'])
        assert 0 < r['teacher_flops'] < r['step_flops'] or r['teacher_rate'] == 0
    assert 'learn_flops_per_iter' not in uniform and uniform['teacher_rate'] == 1.0
    for r in (rl, none):  # the reward lookahead and PPO update, amortised per iteration
        assert r['collect_flops'] > 0 and r['update_flops'] > 0
        assert r['iter_flops'] == r['step_flops'] + r['learn_flops_per_iter']
        assert r['learn_flops_per_iter'] == pytest.approx(
            r['collect_flops'] / r['collect_interval']
            + r['update_flops'] / (r['collect_interval'] * r['update_interval']))
    assert rl['teacher_rate'] == 1.0 and none['teacher_rate'] < 1.0  # teacher skipped
    md = out.with_suffix('.md').read_text()
    assert 'batch 1 of 128x128' in md and '--batch-size 1' in md
    rows = table_rows(md)
    assert [row[0] for row in rows[1:]] == list(results)
    assert rows[1][5] == '1.000'  # uniform KD's FLOPs against its own
