"""RL-PyramidKD counted in iterations (mmseg's schedules) through tools/train.py on toy
segmentation: phases in ``iters`` over an ``InfiniteSampler``, validation and checkpoints
at their iteration intervals, ``--resume`` mid-phase, the export of such a run."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import CheckpointLoader

from rlpkd.datasets import generate_toy_ade

ROOT = Path(__file__).resolve().parents[2]

# The toy segmentation distiller with the full-scale RL configs' shared phases, counted in
# iterations as configs/deeplabv3plus/rlpkd_*_ade20k-512x512.py counts mmseg's 80k:
# 2 / 3 / 2 iterations, validation every 3, a checkpoint every 2 (and after the last).
CONFIG = """_base_ = [
    '{root}/configs/deeplabv3plus/kd-uniform_deeplabv3plus_r18w32-r18w16-d8_toy-ade.py',
    '{root}/configs/_base_/schedules/rlpkd_phases.py',
]
model = dict(selector={{{{_base_.rl_selector}}}}, teacher_ckpt=None)
loader = dict(batch_size=2, num_workers=0, persistent_workers=False,
              dataset=dict(data_root='{data}/'))
train_dataloader = dict(loader, sampler=dict(_delete_=True, type='InfiniteSampler',
                                             shuffle=True))
val_dataloader = loader
test_dataloader = loader
train_cfg = dict(_base_.rl_train_cfg, iter_based=True, val_interval=3,
                 phases=[dict(phase, iters=n)
                         for phase, n in zip(_base_.rl_train_cfg.phases, (2, 3, 2))])
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=7,
                        by_epoch=False)]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=2),
                     logger=dict(interval=1, log_metric_by_epoch=False))
log_processor = dict(by_epoch=False)
"""


def run(cmd: list, cwd: Path = ROOT) -> str:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc.stdout + proc.stderr


def train(cfg: Path, work: Path, *extra) -> list:
    return [sys.executable, ROOT / 'tools' / 'train.py', cfg, '--work-dir', work, *extra]


def state(path: Path) -> dict:
    return CheckpointLoader.load_checkpoint(str(path), 'cpu')['state_dict']


@pytest.fixture(scope='module')
def run_a(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp('iter_rl')
    generate_toy_ade(tmp / 'data', num_train=6, num_val=2, seed=3)
    cfg = tmp / 'rlpkd_iters.py'
    cfg.write_text(CONFIG.format(root=ROOT, data=tmp / 'data'))
    log = run(train(cfg, tmp / 'a'))
    return dict(tmp=tmp, cfg=cfg, log=log, work=tmp / 'a')


def test_phases_in_iterations_validate_and_checkpoint_at_their_intervals(run_a):
    work, log = run_a['work'], run_a['log']
    for phase in ('warmup', 'policy', 'joint'):
        assert f"phase '{phase}'" in log
    assert 'Iter(train) [7/7]' in log and 'rl/reward' in log
    assert sorted(p.name for p in work.glob('*.pth')) == [
        'iter_2.pth', 'iter_4.pth', 'iter_6.pth', 'iter_7.pth']
    scalars = [json.loads(line) for line in next(work.glob('*/vis_data/scalars.json'))
               .read_text().splitlines()]
    assert [s['step'] for s in scalars if 'mIoU' in s] == [3, 6, 7]
    cost = json.loads((work / 'search_cost.json').read_text())
    assert {k: v['iterations'] for k, v in cost['phases'].items()} == dict(
        warmup=2, policy=3, joint=2)
    ckpt = CheckpointLoader.load_checkpoint(str(work / 'iter_4.pth'), 'cpu')
    assert ckpt['meta']['iter'] == 4 and ckpt['meta']['epoch'] == 0
    assert ckpt['rl_state']['learners']['__loop__']['train_stream'] == dict(epoch=0, drawn=4)


def test_resume_mid_phase_matches_uninterrupted(run_a):
    """From the checkpoint in the middle of phase 2 (2 PPO records pending; the update
    comes after the resume), the resumed run ends where the uninterrupted one did."""
    work = run_a['tmp'] / 'b'
    work.mkdir()
    shutil.copy(run_a['work'] / 'iter_4.pth', work / 'iter_4.pth')
    log = run(train(run_a['cfg'], work, '--resume', work / 'iter_4.pth'))
    assert 'resumed epoch: 0, iter: 4' in log and "phase 'policy'" in log
    assert "phase 'warmup'" not in log and 'rl/policy_loss' in log
    a, b = state(run_a['work'] / 'iter_7.pth'), state(work / 'iter_7.pth')
    assert a.keys() == b.keys()
    different = [k for k in a if k.startswith(('student.', 'selector.policy.'))
                 and not torch.equal(a[k], b[k])]
    assert not different, different[:5]


def test_export_is_an_iteration_based_loop_that_trains(run_a, tmp_path):
    """tools/export_student.py: an IterBasedTrainLoop of the phases' total length, and
    the exported config and checkpoint train with mmseg alone (InfiniteSampler kept)."""
    run([sys.executable, ROOT / 'tools' / 'export_student.py', run_a['work'] / 'iter_7.pth',
         'student.pth', '--config', run_a['cfg'], '--out-config', 'student.py'], tmp_path)
    cfg = Config.fromfile(str(tmp_path / 'student.py'))
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=7, val_interval=3)
    assert cfg.train_dataloader.sampler.type == 'InfiniteSampler'
    assert 'rlpkd' not in cfg.pretty_text
    from mmengine.runner import Runner
    cfg.merge_from_dict({'work_dir': str(tmp_path / 'plain'), 'train_cfg.max_iters': 2,
                         'load_from': str(tmp_path / 'student.pth')})
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert type(runner.train_loop).__name__ == 'IterBasedTrainLoop' and runner.iter == 2


@pytest.mark.bad_input
def test_phase_in_epochs_is_refused_when_iteration_based(run_a):
    proc = subprocess.run([str(c) for c in train(
        run_a['cfg'], run_a['tmp'] / 'bad', '--cfg-options', 'train_cfg.phases.0.iters=None',
        'train_cfg.phases.0.epochs=1')], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "phase 'warmup' is given in `epochs`, but train_cfg.iter_based=True" in proc.stderr
    assert 'Iter(train)' not in proc.stdout + proc.stderr
