"""``tools/benchmark.py`` end to end on a tiny classification setting: real models,
data, runner and metric; tables well formed, a failing run reported, finished runs
reused on a second invocation, the teacher checked against the student alone."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rlpkd.datasets import generate_toy_folder

ROOT = Path(__file__).resolve().parents[2]
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def tool(name: str, *args) -> str:
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / name), *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope='module')
def setting(tmp_path_factory):
    """9 / 6 toy classification images and a teacher trained for one epoch."""
    tmp = tmp_path_factory.mktemp('benchmark')
    data = tmp / 'data'
    generate_toy_folder(data, num_train=9, num_val=6, seed=3)
    fast = [f'{loader}.{key}' for loader in LOADERS
            for key in ('num_workers=0', 'persistent_workers=False')]
    tool('train.py', ROOT / 'configs/resnet/resnet18-w32_toy-folder.py', '--work-dir',
         tmp / 'teacher', '--cfg-options', 'train_cfg.max_epochs=1',
         *[f'{loader}.dataset.data_root={data}/' for loader in LOADERS], *fast)
    return dict(tmp=tmp, data=data, teacher=tmp / 'teacher' / 'epoch_1.pth',
                options=['train_cfg.max_epochs=1', *fast])


def benchmark(setting, work: Path, *only, teacher=None) -> str:
    # darts-ls: its search loop has no max_epochs, so the shared option makes it fail;
    # a one-epoch teacher is no teacher worth distilling: compare anyway
    return tool('benchmark.py', 'cls', '--seeds', '2', '--only', *(only or (
                'student', 'uniform', 'darts-ls')), '--data', setting['data'], '--teacher',
                teacher or setting['teacher'], '--work-dir', work, '--allow-weak-teacher',
                '--cfg-options', *setting['options'])


def test_tables_failures_and_resume(setting):
    work = setting['tmp'] / 'bench'
    out = benchmark(setting, work)
    assert out.count(': ok (') == 4 and out.count('FAILED') == 2, out

    records = json.loads((work / 'results.json').read_text())
    assert sorted((r['key'], r['seed'], r['status']) for r in records) == [
        ('darts-ls', 0, 'failed'), ('darts-ls', 1, 'failed'), ('student', 0, 'ok'),
        ('student', 1, 'ok'), ('uniform', 0, 'ok'), ('uniform', 1, 'ok')]
    uniform = [r for r in records if r['key'] == 'uniform']
    assert all(0 <= r['metrics']['accuracy/top1'] <= 100 and r['cost'] == 1.0
               for r in uniform)

    tables = json.loads((work / 'tables.json').read_text())
    assert set(tables) == {'main', 'nas_vs_rl', 'ablation', 'gradient', 'lambda'}
    main = {row['key']: row for row in tables['main']['rows']}
    assert main['uniform']['top-1']['n'] == 2 and main['student']['top-1']['n'] == 2
    assert main['darts-ls']['top-1'] == dict(mean=None, std=None, n=0, failed=2)
    assert main['rl']['top-1']['n'] == 0 and main['rl']['top-1']['failed'] == 0

    md = (work / 'tables.md').read_text()
    rows = {line.split(' | ')[0][2:]: line for line in md.splitlines()
            if line.startswith('| ')}
    assert ' ± ' in rows['uniform KD'] and '| failed |' in rows['DARTS-LS']
    assert rows['RL-PyramidKD (full)'].split(' | ')[1] == '–'
    assert 'darts-ls seed 0' in md  # the failure list names the run and its log
    # the teacher, tested once, against the student alone; the header quotes the verdict
    strength = json.loads((work / 'teacher.json').read_text())
    assert strength['students'] == [r['metrics']['accuracy/top1'] for r in records
                                    if r['key'] == 'student']
    assert 0 <= strength['teacher'] <= 100 and strength['summary'] in md

    logs = {p: p.stat().st_mtime_ns for p in work.glob('*/seed_*/train.log')
            if 'darts' not in str(p)}
    again = benchmark(setting, work)
    assert again.count(': reused (') == 4 and again.count('FAILED') == 2, again
    assert {p: p.stat().st_mtime_ns for p in logs} == logs
    assert json.loads((work / 'tables.json').read_text())['main'] == tables['main']

    # the student alone runs first (every seed), whatever --only says
    only = benchmark(setting, work, 'uniform')
    starts = [line.split('] ')[1] for line in only.splitlines() if line.endswith(': starting')]
    assert starts == ['student seed 0: starting', 'student seed 1: starting',
                      'uniform seed 0: starting', 'uniform seed 1: starting'], only
    # another teacher: the distilled runs are not reused, the student alone is
    other = shutil.copy(setting['teacher'], setting['tmp'] / 'other_teacher.pth')
    rerun = benchmark(setting, work, 'uniform', teacher=other)
    assert rerun.count(': reused (') == 2 and rerun.count(': ok (') == 2, rerun
    assert {r['teacher'] for r in json.loads((work / 'results.json').read_text())
            if r['key'] == 'uniform'} == {str(Path(other).resolve())}


def test_full_prints_commands_without_running(tmp_path):
    out = tool('benchmark.py', 'det', '--full', '--seeds', '1', '--work-dir', tmp_path)
    assert 'tools/dist_train.sh configs/faster_rcnn/kd-uniform_faster-rcnn_r101-r50' in out
    assert 'model.selector.lambda_tradeoff=0.25' in out and ' 8 --work-dir' in out
    # a NAS method: the full-scale search, then the retrain of the subset it found
    assert ('configs/nas/darts-ls-retrain_faster-rcnn_r101-r50_fpn_1x_coco.py 8 --work-dir '
            'work_dirs/benchmark_det_full/darts-ls/seed_0 --cfg-options randomness.seed=0 '
            'model.selector.levels_from=work_dirs/benchmark_det_full/darts-ls/seed_0/search/'
            'search_result.json') in out
    assert not any(tmp_path.iterdir())


@pytest.mark.bad_input
def test_unknown_method_is_named(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / 'benchmark.py'), 'cls',
                           '--only', 'nope', '--work-dir', str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0 and "--only: unknown ['nope']" in proc.stderr


@pytest.mark.bad_input
def test_missing_teacher_is_named_before_any_run(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / 'benchmark.py'), 'cls',
                           '--only', 'uniform', '--data', str(tmp_path),
                           '--teacher', str(tmp_path / 'nope.pth'),
                           '--work-dir', str(tmp_path / 'w')],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0 and '--teacher: no checkpoint' in proc.stderr
    assert 'Traceback' not in proc.stderr and not (tmp_path / 'w' / 'uniform').exists()
