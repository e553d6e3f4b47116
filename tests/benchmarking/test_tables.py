"""Cells, tables and plan selection of ``rlpkd.benchmarking`` on hand-made records."""
from __future__ import annotations

import pytest

from rlpkd.benchmarking import TASKS, methods, select
from rlpkd.benchmarking.launch import progress_of
from rlpkd.benchmarking.tables import format_cell, summary, table_markdown, task_tables


def record(key, seed, value, status='ok', family='uniform', **extra):
    return dict(key=key, seed=seed, status=status, family=family, train_s=10.0 + seed,
                search_s=None, cost=1.0, metrics={} if value is None else {'m': value},
                **extra)


def test_summary_is_mean_and_sample_std_over_finished_runs():
    runs = [record('u', 0, 1.0), record('u', 1, 3.0), record('u', 2, None, status='failed')]
    stats = summary(runs, lambda r: r['metrics'].get('m'))
    assert stats == dict(mean=2.0, std=pytest.approx(2 ** 0.5), n=2, failed=1)
    assert format_cell(stats, 2) == '2.00 ± 1.41 (1 failed)'
    assert format_cell(summary([], lambda r: 1.0), 2) == '–'
    assert format_cell(summary(runs[2:], lambda r: 1.0), 2) == 'failed'


def test_task_tables_rows_and_train_time_ratio():
    task = TASKS['cls']
    records = [dict(record('uniform', s, 60.0 + s), metrics={'accuracy/top1': 60.0 + s})
               for s in (0, 1)]
    records += [dict(record('rl', 0, None, family='lambda', lam=0.5), train_s=21.0, cost=0.5,
                     train_cost=0.8,
                     metrics={'accuracy/top1': 58.0, 'selection/distinct_subsets': 3.0})]
    tables = {t.name: t for t in task_tables(task, records)}
    main = table_markdown(tables['main'], records)
    # uniform wall mean = 10.5 s; RL 21 s -> ratio 2.00
    assert ('| RL-PyramidKD (full) | 58.00 ± 0.00 | 0.500 ± 0.000 | 0.800 ± 0.000 | '
            '2.00 ± 0.00 |') in main
    assert '| uniform KD | 60.50 ± 0.71 | 1.000 ± 0.000 | 1.000 ± 0.000 | 1.00 ± 0.07 |' in main
    assert '| student alone | – | – | – | – | – |' in main
    assert '| λ = 0.5 | 58.00 ± 0.00 | 0.500 ± 0.000 | 0.800 ± 0.000 | 3.00 ± 0.00 | – |' in \
        table_markdown(
        tables['lambda'], records)
    nas_vs_rl = table_markdown(tables['nas_vs_rl'], records)
    assert nas_vs_rl.splitlines()[2].endswith('| subsets used | sample-adaptive |')
    assert '| 3.00 ± 0.00 | yes (1/1 seeds) |' in nas_vs_rl


def test_plan_covers_every_table_row_and_select_names_unknowns():
    for task in TASKS.values():
        keys = {m.key for m in methods(task)}
        for table in task_tables(task, []):
            assert {key for _, key in table.rows} <= keys, table.name
    plan = select(methods(TASKS['det']), ['nas', 'uniform'])
    assert [m.key for m in plan] == ['uniform', 'darts-ls', 'gdas-ls', 'ea-ls']
    with pytest.raises(ValueError, match=r"--only: unknown \['x'\]"):
        select(methods(TASKS['det']), ['x', 'uniform'])


def test_progress_of_mmengine_lines():
    train = ('12/01 03:18:11 - mmengine - INFO - Epoch(train)  [1][10/30]  lr: 3.0678e-03  '
             'eta: 0:05:27  time: 0.9363')
    assert progress_of(train) == 'train epoch 1 [10/30] · eta 0:05:27'
    assert progress_of('... - INFO - Iter(train) [ 120/400]  lr: 1e-3  eta: 1 day, 2:03:04  '
                       'time') == 'train [120/400] · eta 1 day, 2:03:04'
    assert progress_of('... INFO - Epoch(test) [10/60]    eta: 0:00:05') == \
        'test [10/60] · eta 0:00:05'
    assert progress_of('... INFO - Saving checkpoint at 6 epochs') is None


def test_meta_table_rows_per_start_and_k():
    from rlpkd.benchmarking.meta import meta_markdown
    results = [dict(start=start, k=k, seed=seed, reward=0.5 + 0.1 * seed,
                    metrics={'accuracy/top1': 60.0, 'selection/cost_fraction': 1.0,
                             'selection/distinct_subsets': 1.0})
               for start in ('maml', 'scratch') for k in (1, 5) for seed in (0, 1)]
    text = meta_markdown('cls', results, [0, 1], [1, 5], 60, 'cmd')
    rows = [line for line in text.splitlines() if line.startswith('| maml') or
            line.startswith('| scratch')]
    assert rows[0] == ('| maml | 1 | 0.550 ± 0.071 | 60.00 ± 0.00 | 1.000 ± 0.000 | '
                       '1.00 ± 0.00 |') and len(rows) == 4
    assert 'meta-trained on det + seg (60 meta-iterations)' in text
