"""benchmarks/rl_overhead.py: uniform KD vs RL-PyramidKD's phases through tools/train.py,
on toy classification data of 9 images (one iteration an epoch)."""
from __future__ import annotations

import json

import pytest
from benchmark_smoke import finite, run, table_rows

from rlpkd.datasets import generate_toy_folder


def test_rl_overhead_writes_its_results(tmp_path):
    data, out = tmp_path / 'data', tmp_path / 'rl_overhead'
    generate_toy_folder(data, num_train=9, num_val=1, seed=3)
    # 6 epochs: 6 iterations, the first 5 of them not timed; a reward scored every 2nd
    run('rl_overhead', '--task', 'cls', '--epochs', '6', '--repeats', '1',
        '--collect-interval', '2', '--data', data, '--out', out)
    phases = [f'RL-PyramidKD phase {p}' for p in (1, 2, 3)]
    record = json.loads(out.with_suffix('.json').read_text())
    assert record['args']['data'] == str(data) and record['args']['task'] == 'cls'
    summary = record['summary']
    assert list(summary) == ['uniform KD', *phases]
    for s in summary.values():
        assert finite(s['median_iter_s'], s['mean_iter_s'], s['peak_rss_mib'])
        assert s['median_iter_s'] > 0 and s['peak_rss_mib'] > 100  # a real training process
    ratio = record['ratios']['RL-PyramidKD phase 3']
    rl, base = summary['RL-PyramidKD phase 3'], summary['uniform KD']
    assert ratio['time_median'] == rl['median_iter_s'] / base['median_iter_s']
    assert ratio['memory_rss'] == rl['peak_rss_mib'] / base['peak_rss_mib']
    md = out.with_suffix('.md').read_text()
    assert [row[0] for row in table_rows(md)[1:]] == list(summary)
    assert 'toy ResNet classifier distiller' in md and '6 epochs x 1 alternating runs' in md
    assert 'RL-PyramidKD phase 2 / uniform KD: time ' in md
    # the whole run: the toy config's 2 / 2 / 2 epochs weigh the three phase ratios equally
    r = [record['ratios'][p]['time_mean'] for p in phases]
    toy_split, toy = record['whole_run']['toy']
    assert toy_split == [1 / 3] * 3 and abs(toy - sum(r) / 3) < 1e-9
    full_split, full = record['whole_run']['full']
    assert abs(full - (0.25 * r[0] + 0.5 * r[1] + 0.25 * r[2])) < 1e-9
    assert f'Whole run, full phase split 0.25 / 0.50 / 0.25: {full:.3f}x' in md
    # one scored sample: the cls config scores 8 samples; every 2nd batch here
    cost = record['scored_sample']
    assert cost == dict(samples=8, interval=2, batch=32, cost=pytest.approx((r[1] - 1) * 2 / 8))
    assert f"One scored sample costs {cost['cost']:.3f} uniform-KD iterations" in md
