"""benchmarks/full_size_step.py: the full-scale RL-PyramidKD Faster R-CNN R101 -> R50 step,
run for real at a toy image size (96x64), 3 iterations of its policy-learning phase."""
from __future__ import annotations

import json
import os

import pytest
import torch
from benchmark_smoke import finite, run


def fake_baseline(path, size, mean_iter_s: float = 2.0, peak_mib: float = 1000.0):
    """An earlier result on this machine, as the script writes one (the fields it reads)."""
    cpu = f'CPU ({os.cpu_count()} cores)'
    dev = f'GPU ({torch.cuda.get_device_name()})' if torch.cuda.is_available() else cpu
    path.write_text(json.dumps(dict(device=dev, size=size, config='uniform.py',
                                    mean_iter_s=mean_iter_s, peak_rss_mib=peak_mib,
                                    peak_cuda_mib=peak_mib)))
    return path


def test_full_size_step_writes_its_results(tmp_path):
    out = tmp_path / 'full_size_step'
    base = fake_baseline(tmp_path / 'uniform.json', [96, 64])
    run('full_size_step', '--size', 96, 64, '--iters', 3, '--out', out, '--baseline', base,
        '--work-dir', tmp_path / 'work')
    record = json.loads(out.with_suffix('.json').read_text())
    assert record['size'] == [96, 64] and record['batch'] == 2 and not record['amp']
    assert record['config'].endswith('rlpkd_faster-rcnn_r101-r50_fpn_40e_coco.py')
    assert record['iterations'] == 3 and len(record['times']) == 3
    assert record['timed_iterations'] == 1  # the first 2 are not timed
    assert finite(record['mean_iter_s'], record['median_iter_s'], record['peak_rss_mib'])
    assert record['mean_iter_s'] > 0 and record['median_iter_s'] > 0
    assert record['peak_rss_mib'] > 100  # R101 + R50 Faster R-CNN in this process
    if not torch.cuda.is_available():
        assert record['peak_cuda_mib'] is None and record['device'].startswith('CPU')
    # every batch of the policy-learning phase scored; PPO waits for its 4th
    assert record['experience'] == dict(phase='policy', collect_interval=1,
                                        update_interval=4, updates=0, pending=3,
                                        scored_batches=3)
    assert record['command'].startswith('python benchmarks/full_size_step.py --size 96 64')
    md = out.with_suffix('.md').read_text()
    assert '**Toy scale: 96x64 images, not the full 1333x800.**' in md
    assert 'batch 2' in md and '3 batches scored by the reward lookahead' in md
    if not torch.cuda.is_available():
        assert '**CPU run: not the GPU cost a user pays.**' in md
    assert f"`{record['command']}`" in md
    # the ratios to the baseline result
    memory = record['peak_cuda_mib'] or record['peak_rss_mib']
    assert record['baseline'] == dict(file=str(base), config='uniform.py',
                                      time_mean=pytest.approx(record['mean_iter_s'] / 2.0),
                                      memory=pytest.approx(memory / 1000.0))
    assert f"time {record['baseline']['time_mean']:.3f}x (mean)" in md


def test_a_baseline_of_another_size_is_refused_before_training(tmp_path):
    base = fake_baseline(tmp_path / 'other.json', [1333, 800])
    with pytest.raises(ValueError, match=r'other\.json: its size is \[1333, 800\]'):
        run('full_size_step', '--size', 96, 64, '--iters', 3, '--out', tmp_path / 'x',
            '--baseline', base, '--work-dir', tmp_path / 'work')
    assert not (tmp_path / 'x.json').exists()
