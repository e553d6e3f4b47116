"""Phase 4 through tools/train.py: MAML of the policy across the toy detection,
segmentation and classification distillation tasks; resume, DDP, the policy file, and
configuration errors at build."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import CheckpointLoader

from rlpkd.apis.cli import add_common_args, build_runner, load_config, read_config
from rlpkd.datasets import generate_toy_ade, generate_toy_coco, generate_toy_folder
from rlpkd.models.utils import config_file
from rlpkd.rl.policy_io import read_policy_state
from rlpkd.testing import build_from_config, kill_after_checkpoint

ROOT = Path(__file__).resolve().parents[2]
META_CFG = ROOT / 'configs' / 'maml' / 'maml_rlpkd_toy-det-seg-cls.py'
SEG_RL = 'rlpkd::deeplabv3plus/rlpkd_deeplabv3plus_r18w32-r18w16-d8_toy-ade.py'


def options(data: Path) -> list[str]:
    """Two meta-iterations of one support and one query step per task, batches of 2 tiny
    images (det 64 px, seg 32 px, cls 64 px), random teachers, no workers (exact
    resume), a checkpoint every iteration."""
    opts = ['train_cfg.meta_iters=2', 'train_cfg.support_steps=1', 'train_cfg.query_steps=1',
            'default_hooks.checkpoint.interval=1', 'train_cfg.tasks.2.collect_samples=1']
    roots = {0: data / 'coco', 1: data / 'ade', 2: data / 'folder'}
    for i, root in roots.items():
        task = f'train_cfg.tasks.{i}.cfg_options'
        opts += [f'{task}.model.teacher_ckpt=None', f'{task}.train_dataloader.batch_size=2',
                 f'{task}.train_dataloader.num_workers=0',
                 f'{task}.train_dataloader.persistent_workers=False',
                 f'{task}.train_dataloader.dataset.data_root={root}/']
    return opts + ['train_cfg.tasks.0.cfg_options.train_dataloader.dataset.pipeline.2.scale='
                   '(64,64)']


def train_cmd(work_dir: Path, opts: list[str], *extra: str) -> list[str]:
    return [sys.executable, str(ROOT / 'tools' / 'train.py'), str(META_CFG), '--work-dir',
            str(work_dir), *extra, '--cfg-options', *opts]


def run(cmd: list[str], **kwargs) -> str:
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, **kwargs)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc.stdout + proc.stderr


def equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def checkpoint(path: Path) -> dict:
    return CheckpointLoader.load_checkpoint(str(path), 'cpu')


@pytest.fixture(scope='module')
def meta_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('maml')
    data = tmp / 'data'
    generate_toy_coco(data / 'coco', num_train=4, num_val=2, img_size=64, seed=0)
    generate_toy_ade(data / 'ade', num_train=4, num_val=2, img_size=32, seed=0)
    generate_toy_folder(data / 'folder', num_train=6, num_val=3, img_size=64, seed=0)
    opts = options(data)
    log = run(train_cmd(tmp / 'a', opts))
    return dict(tmp=tmp, opts=opts, log=log, work=tmp / 'a')


def test_meta_training_updates_the_policy_and_logs(meta_run):
    log, work = meta_run['log'], meta_run['work']
    for key in ('maml/meta_loss', 'maml/meta_grad_norm', 'maml/inner_loss_last',
                'det/support_reward', 'seg/query_reward', 'cls/query_cost'):
        assert key in log
    first, last = (checkpoint(work / f'iter_{i}.pth') for i in (1, 2))
    assert not equal(first['state_dict'], last['state_dict'])  # the second outer step
    tasks = last['rl_state']['learners']['tasks']
    assert sorted(tasks) == ['cls', 'det', 'seg']
    # the students keep training: the detection student moved between the iterations
    before = first['rl_state']['learners']['tasks']['det']['model']
    after = tasks['det']['model']
    assert not equal({k: v for k, v in before.items() if k.startswith('student.')},
                     {k: v for k, v in after.items() if k.startswith('student.')})


def test_policy_file_starts_a_task(meta_run):
    path = meta_run['work'] / 'meta_policy.pth'
    saved = read_policy_state(str(path), 'test')
    # the file is the final meta-policy: the last checkpoint's, under `policy.`
    assert equal(saved, read_policy_state(str(meta_run['work'] / 'iter_2.pth'), 'test'))
    torch.manual_seed(0)
    fresh = build_from_config(SEG_RL).selector.learnable()
    selector = dict(Config.fromfile(config_file(SEG_RL)).model.selector, policy_init=str(path))
    seg = build_from_config(SEG_RL, selector=selector)
    assert equal(seg.selector.learnable().state_dict(), saved)
    assert not equal(fresh.state_dict(), saved)
    assert torch.equal(seg.selector.learnable().level_costs, fresh.level_costs)


@pytest.mark.fault
def test_killed_run_resumes_as_uninterrupted(meta_run):
    """kill -9 after the first meta-iteration's checkpoint, then ``--resume``: the
    meta-policy, every task's distiller and data stream, and the policy file are those
    of the uninterrupted run, bit for bit."""
    work = meta_run['tmp'] / 'b'
    kill_after_checkpoint(train_cmd(work, meta_run['opts']), work, 'iter_1.pth')
    assert not (work / 'iter_2.pth').exists(), 'the run finished before it was killed'
    run(train_cmd(work, meta_run['opts'], '--resume'))
    a, b = checkpoint(meta_run['work'] / 'iter_2.pth'), checkpoint(work / 'iter_2.pth')
    assert equal(a['state_dict'], b['state_dict'])
    for name, task in a['rl_state']['learners']['tasks'].items():
        assert equal(task['model'], b['rl_state']['learners']['tasks'][name]['model']), name
        assert task['stream'] == b['rl_state']['learners']['tasks'][name]['stream']
    assert equal(read_policy_state(str(meta_run['work'] / 'meta_policy.pth'), 'a'),
                 read_policy_state(str(work / 'meta_policy.pth'), 'b'))


def test_two_process_gloo_keeps_meta_policy_identical(meta_run):
    env = dict(os.environ, PYTHON=sys.executable, PORT='29563')
    log = run(['bash', str(ROOT / 'tools' / 'dist_train.sh'), str(META_CFG), '2',
               '--work-dir', str(meta_run['tmp'] / 'ddp'), '--cfg-options',
               *meta_run['opts']], env=env, timeout=900)
    assert log.count('meta-policy identical on 2 ranks') == 2


def built_loop(meta_run, *options: str):
    """Build the meta-training loop of the test config plus ``options`` in this process,
    as ``tools/train.py`` builds the runner and ``Runner.train`` the loop."""
    parser = add_common_args(argparse.ArgumentParser())
    args = parser.parse_args(['--cfg-options', *meta_run['opts'], *options])
    cfg = load_config(str(META_CFG), str(meta_run['tmp'] / 'build'), args.cfg_options)
    runner = build_runner(cfg)
    return runner.build_train_loop(cfg.train_cfg)


@pytest.mark.bad_input
@pytest.mark.parametrize('option,error,message', [
    ('train_cfg.meta_iters=0', ValueError, r'train_cfg.meta_iters=0; it must be >= 1'),
    ('train_cfg.maml.outer_lr=0.1', ValueError, r'optim_wrapper.optimizer.lr'),
    ('train_cfg.tasks.1.name=det', ValueError, r'task names must be unique'),
    ('train_cfg.tasks.2.epochs=1', TypeError, r'train_cfg.tasks\[2\]: .*epochs'),
    ('train_dataloader.batch_size=2', ValueError, r'set train_dataloader = dict\(\)'),
    ('model.policy.hidden_dim=64', ValueError,
     r'train_cfg.tasks\[0\] \(model.policy of the meta-training config\).*encoder.0.weight'),
    ('train_cfg.tasks.0.config=rlpkd::faster_rcnn/kd-uniform_faster-rcnn_r18w32-r18w16_fpn_'
     'toy-coco.py', TypeError, r'train_cfg.tasks\[0\]: .* UniformSelector model.selector'),
])
def test_bad_settings_fail_at_build(meta_run, option, error, message):
    with pytest.raises(error, match=message):
        built_loop(meta_run, option)


def test_full_scale_config_names_three_rl_tasks():
    """The COCO / ADE20K / ImageNet meta-training config: every task config, with its
    cfg_options, has the RL selector and a model-zoo teacher (nothing is built)."""
    cfg = read_config(str(ROOT / 'configs' / 'maml' / 'maml_rlpkd_coco-ade20k-in1k.py'))
    assert [t['name'] for t in cfg.train_cfg.tasks] == ['det', 'seg', 'cls']
    for task in cfg.train_cfg.tasks:
        task_cfg = read_config(config_file(task['config']))
        task_cfg.merge_from_dict(task.get('cfg_options', {}))
        assert task_cfg.model.selector.type == 'rlpkd.RLSelector', task['name']
        assert task_cfg.model.selector.policy == cfg.model.policy
        assert task_cfg.model.teacher_ckpt.startswith('https://'), task['name']
