"""RL-PyramidKD through tools/train.py: phases, freezing, kill-and-resume, DDP, test metrics."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.runner import CheckpointLoader

from rlpkd.datasets import generate_toy_coco
from rlpkd.testing import kill_after_checkpoint

ROOT = Path(__file__).resolve().parents[2]
RL_CFG = ROOT / 'configs' / 'faster_rcnn' / 'rlpkd_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'


def options(data: Path) -> list[str]:
    """16 images, batch 4: phases of 1 / 2 / 1 epochs of 4 iterations; no workers, so
    every random number comes from the main process (exact resume)."""
    ann_val = f'{data}/annotations/instances_val.json'
    opts = [f'{k}_dataloader.{v}' for k in ('train', 'val', 'test')
            for v in (f'dataset.data_root={data}/', 'num_workers=0',
                      'persistent_workers=False')]
    return opts + [
        f'val_evaluator.ann_file={ann_val}', f'test_evaluator.0.ann_file={ann_val}',
        f'test_evaluator.1.group_file={ann_val}',
        'model.teacher_ckpt=None', 'train_dataloader.batch_size=2',
        'train_cfg.phases.0.epochs=1', 'train_cfg.phases.1.epochs=2',
        'train_cfg.phases.2.epochs=1', 'train_cfg.phases.1.update_interval=4',
        'train_cfg.phases.1.collect_samples=1',  # one of the two samples is recorded
        'train_cfg.phases.2.collect_interval=2', 'train_cfg.phases.2.update_interval=2',
        'train_cfg.val_interval=10', 'default_hooks.checkpoint.interval=1',
        'default_hooks.logger.interval=1']


def train_cmd(work_dir: Path, opts: list[str], *extra: str) -> list[str]:
    return [sys.executable, str(ROOT / 'tools' / 'train.py'), str(RL_CFG), '--work-dir',
            str(work_dir), *extra, '--cfg-options', *opts]


def run(cmd: list[str], **kwargs) -> str:
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, **kwargs)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc.stdout + proc.stderr


def state(path: Path) -> dict:
    return CheckpointLoader.load_checkpoint(str(path), 'cpu')['state_dict']


def subset(sd: dict, prefix: str) -> dict:
    return {k: v for k, v in sd.items() if k.startswith(prefix)}


def equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope='module')
def run_a(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('rl')
    data = tmp / 'data'
    generate_toy_coco(data, num_train=8, num_val=4, seed=5)
    opts = options(data)
    log = run(train_cmd(tmp / 'a', opts))
    return dict(tmp=tmp, data=data, opts=opts, log=log, work=tmp / 'a')


def test_three_phases_run(run_a):
    log = run_a['log']
    for phase in ('warmup', 'policy', 'joint'):
        assert f"phase '{phase}'" in log
    assert 'rl/reward' in log and 'select_P2' in log
    ckpt = CheckpointLoader.load_checkpoint(str(run_a['work'] / 'epoch_4.pth'), 'cpu')
    assert 'rl_state' in ckpt and 'ppo' in ckpt['rl_state']['learners']['ppo']
    assert any(k.startswith('selector.policy.') for k in ckpt['state_dict'])


def test_backbone_frozen_only_in_policy_phase(run_a):
    e1, e3, e4 = (state(run_a['work'] / f'epoch_{i}.pth') for i in (1, 3, 4))
    assert equal(subset(e1, 'student.backbone.'), subset(e3, 'student.backbone.'))
    assert not equal(subset(e1, 'student.neck.'), subset(e3, 'student.neck.'))
    assert not equal(subset(e1, 'selector.policy.'), subset(e3, 'selector.policy.'))
    assert not equal(subset(e3, 'student.backbone.'), subset(e4, 'student.backbone.'))


@pytest.mark.fault
def test_kill_and_resume_matches_uninterrupted(run_a):
    work = run_a['tmp'] / 'b'
    # kill -9 as soon as the checkpoint in the middle of phase 2 is complete
    kill_after_checkpoint(train_cmd(work, run_a['opts']), work, 'epoch_2.pth')
    assert not (work / 'epoch_4.pth').exists(), 'the run finished before it was killed'
    run(train_cmd(work, run_a['opts'], '--resume'))
    a, b = state(run_a['work'] / 'epoch_4.pth'), state(work / 'epoch_4.pth')
    assert equal(subset(a, 'selector.policy.'), subset(b, 'selector.policy.'))
    assert equal(subset(a, 'student.'), subset(b, 'student.'))


def test_two_process_gloo_keeps_policy_identical(run_a):
    env = dict(os.environ, PYTHON=sys.executable, PORT='29517')
    log = run(['bash', str(ROOT / 'tools' / 'dist_train.sh'), str(RL_CFG), '2',
               '--work-dir', str(run_a['tmp'] / 'ddp'), '--cfg-options', *run_a['opts']],
              env=env, timeout=900)
    assert 'learnable parameters identical on 2 ranks' in log


def test_test_tool_reports_selection(run_a):
    dump = run_a['tmp'] / 'decisions.jsonl'
    out = run([sys.executable, str(ROOT / 'tools' / 'test.py'), str(RL_CFG),
               str(run_a['work'] / 'epoch_4.pth'), '--work-dir', str(run_a['tmp'] / 'test'),
               '--cfg-options', *run_a['opts'], f'test_evaluator.1.dump_file={dump}'])
    metrics = json.loads(next(ln for ln in out.splitlines()
                              if ln.startswith('metrics: '))[len('metrics: '):])
    rates = [metrics[f'selection/rate_P{i}'] for i in range(2, 6)]
    assert all(0.0 <= r <= 1.0 for r in rates)
    assert 0.0 <= metrics['selection/cost_fraction'] <= 1.0
    assert 'coco/bbox_mAP' in metrics
    assert 1 <= metrics['selection/distinct_subsets'] <= 4  # 4 val images
    assert {f'selection/rate_P2/{g}' for g in ('small', 'large', 'mixed')} <= set(metrics)
    assert metrics['selection/group_mi'] >= 0
    records = [json.loads(line) for line in dump.read_text().splitlines()]
    assert len(records) == 4 and all(len(r['levels']) == 4 for r in records)


@pytest.mark.bad_input
@pytest.mark.parametrize('option,message', [
    ('train_cfg.phases.2.collect_samples=0', "phase 'joint' has collect_samples=0"),
    ('train_cfg.phases.1.update_interval=3', "phase 'policy' collects 3 transitions per PPO "
                                             'update'),
    ("train_cfg.phases.1.learner='dqn'", "phase 'policy' names learner 'dqn'"),
    ("train_cfg.phases.0.mode='random'", "phase 'warmup' has mode='random'"),
])
def test_bad_phase_settings_fail_before_training(run_a, option, message):
    proc = subprocess.run(train_cmd(run_a['tmp'] / 'bad', run_a['opts'] + [option]),
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert 'Epoch(train)' not in proc.stderr + proc.stdout


def test_loop_and_hooks_use_declared_methods_only():
    """The loop steers the selector only by calling its methods, and the hooks read only
    the loop methods their protocols declare (no attribute probing or writes)."""
    import ast
    engine = ROOT / 'rlpkd' / 'engine'
    from rlpkd.engine.loops.protocols import LearnerStateLoop, LearnerStatsLoop
    declared = {name for protocol in (LearnerStateLoop, LearnerStatsLoop)
                for name, value in vars(protocol).items()
                if callable(value) and not name.startswith('_')}
    assert declared == {'learner_stats', 'learner_state_dict', 'load_learner_state_dict'}
    for path in [engine / 'loops' / 'phase_loop.py', *sorted((engine / 'hooks').glob('*.py'))]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in ('hasattr', 'getattr', 'setattr'), path
            targets = (node.targets if isinstance(node, ast.Assign) else
                       [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign))
                       else [])
            for target in targets:  # no writes of the form x.selector.attr = ...
                assert not (isinstance(target, ast.Attribute)
                            and isinstance(target.value, ast.Attribute)
                            and target.value.attr == 'selector'), (path, target.lineno)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) \
                    and node.value.attr == 'train_loop':
                assert node.attr in declared, (path, node.attr)
