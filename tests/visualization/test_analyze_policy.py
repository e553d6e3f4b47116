"""tools/analyze_policy.py on a real toy checkpoint, and the Pareto plot's points.

The checkpoint comes from tools/train.py on the toy classification RL config (8 images,
3 one-epoch phases, a PPO update in each RL phase, GradNorm on), so every figure has
real input: decisions dumped by LevelSelectionMetric, class labels from mmpretrain's
dataset, PPO statistics and GradNorm weights from the run's scalars.json.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rlpkd.datasets import generate_toy_folder
from rlpkd.testing import load_tool
from rlpkd.visualization import pareto_front, plot_pareto

ROOT = Path(__file__).resolve().parents[2]
RL_CFG = ROOT / 'configs' / 'resnet' / 'rlpkd_resnet18w32-resnet18w16_toy-folder.py'
UNIFORM_CFG = ROOT / 'configs' / 'resnet' / 'kd-uniform_resnet18w32-resnet18w16_toy-folder.py'
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'
FIGURES = ('selection_by_group.png', 'selection_by_class.png', 'examples.png', 'pareto.png',
           'ppo_curves.png', 'gradnorm_weights.png')


def options(data: Path) -> list[str]:
    """Batches of 4 from 8 images: phases of 2 iterations; one PPO update per RL phase."""
    opts = [f'{k}_dataloader.{v}' for k in ('train', 'val', 'test')
            for v in (f'dataset.data_root={data}/', 'num_workers=0',
                      'persistent_workers=False', 'batch_size=4')]
    for phase in (1, 2):
        opts += [f'train_cfg.phases.{phase}.{k}' for k in (
            'collect_interval=1', 'update_interval=2', 'collect_samples=2')]
    return opts + [
        *(f'train_cfg.phases.{i}.epochs=1' for i in range(3)), 'model.teacher_ckpt=None',
        'default_hooks.logger.interval=1', f'test_evaluator.1.group_file={data}/size_groups.json',
        'model.balancer.type=rlpkd.GradNormBalancer',
        'model.balancer.shared_param=student.backbone.layer1']


def tool(name: str, *args) -> str:
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / name), *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def record(family: str, seed: int, metric: float, cost, lam=None, method=None,
           status: str = 'ok') -> dict:
    """A run record in tools/benchmark.py's format."""
    return dict(key=f'{method or family}-{lam}-s{seed}', method=method or family,
                family=family, status=status, seed=seed, main_metric='coco/bbox_mAP',
                metrics={'coco/bbox_mAP': metric}, cost=cost, train_s=1.0, **{'lambda': lam})


def sweep_records() -> list[dict]:
    """3 λ x 2 seeds, a failed λ run, uniform KD x 2, one gradopt run, two NAS methods,
    student, ablation."""
    records = [record('lambda', s, m, c, lam) for lam, runs in (
        (0.1, ((0.30, 0.8), (0.32, 0.7))), (0.5, ((0.28, 0.4), (0.26, 0.5))),
        (1.0, ((0.20, 0.2), (0.22, 0.2)))) for s, (m, c) in enumerate(runs)]
    records += [record('lambda', 2, 0.99, 0.1, 0.5, status='failed'),
                record('uniform', 0, 0.31, 1.0, method='uniform KD'),
                record('uniform', 1, 0.33, 1.0, method='uniform KD'),
                record('gradopt', 0, 0.315, 1.0, method='uniform KD + GradNorm'),
                record('nas', 0, 0.25, 0.5, method='DARTS-LS'),
                record('nas', 0, 0.29, 0.7, method='EA-LS'),
                record('student', 0, 0.10, None), record('ablation', 0, 0.5, 0.1, 0.5)]
    return records


@pytest.fixture(scope='module')
def run(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp('analyze_policy')
    data = tmp / 'data'
    generate_toy_folder(data, num_train=8, num_val=6, seed=3)
    opts = options(data)
    tool('train.py', RL_CFG, '--work-dir', tmp / 'train', '--cfg-options', *opts)
    bench = tmp / 'benchmark.json'
    bench.write_text(json.dumps(sweep_records()))
    return dict(tmp=tmp, opts=opts, ckpt=tmp / 'train' / 'epoch_3.pth', bench=bench)


def test_tool_writes_every_figure_from_a_toy_checkpoint(run):
    out = run['tmp'] / 'figures'
    stdout = tool('analyze_policy.py', RL_CFG, run['ckpt'], '--work-dir', out,
                  '--benchmark', run['bench'], '--num-examples', 4,
                  '--cfg-options', *run['opts'])
    listed = stdout[stdout.index('figures written:'):].split()[2:]
    assert sorted(Path(p).name for p in listed) == sorted(FIGURES)
    for name in FIGURES:
        assert (out / name).read_bytes()[:8] == PNG_MAGIC, name
    decisions = [json.loads(line) for line in (out / 'decisions.jsonl').read_text().splitlines()]
    assert len(decisions) == 6
    assert {d['group'] for d in decisions} == {'small', 'large'}
    assert all(len(d['levels']) == 4 and Path(d['image']).is_file() for d in decisions)


def test_pareto_plot_has_one_point_per_lambda(tmp_path):
    plot = plot_pareto(sweep_records(), tmp_path / 'pareto.png')
    assert (tmp_path / 'pareto.png').read_bytes()[:8] == PNG_MAGIC
    sweep = [p for p in plot.points if p.family == 'lambda']
    assert [p.label for p in sweep] == ['λ=0.1', 'λ=0.5', 'λ=1']
    assert [p.seeds for p in sweep] == [2, 2, 2]  # the failed run is left out
    np.testing.assert_allclose([p.metric for p in sweep], [0.31, 0.27, 0.21])
    np.testing.assert_allclose([p.metric_std for p in sweep], [np.std([0.3, 0.32], ddof=1)] * 3)
    np.testing.assert_allclose([p.cost for p in sweep], [0.75, 0.45, 0.2])
    assert sorted(p.label for p in plot.points if p.family != 'lambda') == [
        'DARTS-LS', 'EA-LS', 'uniform KD', 'uniform KD + GradNorm']
    # what is drawn: the λ series holds 3 points; 1 + 4 error-bar series in all
    series = {c.get_label(): c.lines[0].get_xdata() for c in plot.axes.containers}
    assert len(series['RL-PyramidKD (λ sweep)']) == 3
    assert len(series) == 5
    assert [p.label for p in plot.front] == ['λ=1', 'λ=0.5', 'EA-LS', 'λ=0.1', 'uniform KD']
    assert plot.front == pareto_front(plot.points)


@pytest.mark.bad_input
def test_errors_name_the_argument(tmp_path):
    ckpt = str(Path(__file__))  # any existing file: every check fails before loading it
    analyze_policy = load_tool('analyze_policy')
    with pytest.raises(FileNotFoundError, match='`CKPT`'):
        analyze_policy.main([str(RL_CFG), str(tmp_path / 'missing.pth')])
    with pytest.raises(FileNotFoundError, match='`CONFIG`'):
        analyze_policy.main([str(tmp_path / 'missing.py'), ckpt])
    with pytest.raises(FileNotFoundError, match='`--benchmark`'):
        analyze_policy.main([str(RL_CFG), ckpt, '--benchmark', str(tmp_path / 'none.json')])
    with pytest.raises(ValueError, match='`test_evaluator`.*LevelSelectionMetric'):
        analyze_policy.main([str(UNIFORM_CFG), ckpt, '--work-dir', str(tmp_path / 'out')])
