"""benchmarks/selection_variants.py on tiny classification data: its most involved
variant (phase 2 unfrozen, task reward, self-critical, cost target, λ 0) trained for one
policy epoch through the real tools (from an untrained toy teacher), and its table."""
from __future__ import annotations

import json

from benchmark_smoke import finite, run, table_rows, untrained_teacher

from rlpkd.benchmarking import TASKS
from rlpkd.datasets import generate_toy_folder

FAST = [f'{loader}.{key}' for loader in ('train_dataloader', 'val_dataloader',
                                         'test_dataloader')
        for key in ('num_workers=0', 'persistent_workers=False')]


def test_selection_variant_runs_and_is_tabled(tmp_path):
    data, out, work = tmp_path / 'data', tmp_path / 'variants', tmp_path / 'work'
    generate_toy_folder(data, num_train=9, num_val=6, seed=3)
    teacher = untrained_teacher(TASKS['cls'], tmp_path / 'teacher.pth')
    run('selection_variants', '--task', 'cls', '--seeds', '1', '--only',
        'rl_unfrozen_task_sc_target', '--data', data, '--teacher', teacher,
        '--work-dir', work, '--out', out,
        '--cfg-options', 'train_cfg.phases.0.epochs=0', 'train_cfg.phases.1.epochs=1',
        'train_cfg.phases.2.epochs=0', *FAST)

    [record] = json.loads(out.with_suffix('.json').read_text())
    assert (record['key'], record['seed'], record['status']) == (
        'rl_unfrozen_task_sc_target', 0, 'ok')
    metrics = record['metrics']
    assert 0 <= metrics['accuracy/top1'] <= 100
    assert all(0 <= metrics[f'selection/rate_{lv}'] <= 1
               for lv in ('res2', 'res3', 'res4', 'res5'))
    assert finite(record['cost'], record['train_cost'])
    assert 0 < record['cost'] <= 1 + 1e-6 and 0 < record['train_cost'] <= 1 + 1e-6
    # the variant's options reached the run's config
    run_dir = work / 'rl_unfrozen_task_sc_target' / 'seed_0'
    config = (run_dir / 'rlpkd_resnet18w32-resnet18w16_toy-folder.py').read_text()
    assert "reward_signal='task'" in config and 'cost_target=0.5' in config
    assert 'self_critical=True' in config and 'freeze=()' in config

    rows = table_rows(out.with_suffix('.md').read_text())
    assert rows[0][:2] == ['method', 'top-1'] and len(rows) == 2
    row = rows[1]
    assert row[0] == '+ task reward, self-critical, cost target 0.5 (λ = 0)'
    assert len(row) == len(rows[0]) and '–' not in row and 'failed' not in row
