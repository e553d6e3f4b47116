"""Toy segmentation and classification round trips through the real tools.

make_toy_data -> train.py (teacher) -> train.py (distiller) -> test.py (IoUMetric /
Accuracy) -> export_student.py -> mmseg.apis.init_model / mmpretrain.apis.get_model.
"""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import torch
from mmengine.runner import CheckpointLoader

from rlpkd.datasets import generate_toy_ade, generate_toy_folder

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Task:
    teacher_cfg: Path
    distill_cfg: Path
    generate: Callable
    metrics: tuple
    scope: str


TASKS = {
    'seg': Task(ROOT / 'configs' / 'deeplabv3plus' / 'deeplabv3plus_r18-w32-d8_toy-ade.py',
                ROOT / 'configs' / 'deeplabv3plus'
                / 'kd-uniform_deeplabv3plus_r18w32-r18w16-d8_toy-ade.py',
                lambda out: generate_toy_ade(out, num_train=8, num_val=4, seed=3),
                ('mIoU', 'aAcc'), 'mmseg'),
    'cls': Task(ROOT / 'configs' / 'resnet' / 'resnet18-w32_toy-folder.py',
                ROOT / 'configs' / 'resnet' / 'kd-uniform_resnet18w32-resnet18w16_toy-folder.py',
                lambda out: generate_toy_folder(out, num_train=9, num_val=6, seed=3),
                ('accuracy/top1', ), 'mmpretrain'),
}


def tool(name: str, *args) -> str:
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / name), *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def data_options(data: Path) -> list[str]:
    opts = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.data_root={data}/', f'{loader}.num_workers=0',
                 f'{loader}.persistent_workers=False']
    return opts


@pytest.fixture(scope='module', params=sorted(TASKS))
def trained(request, tmp_path_factory):
    """Teacher and distiller of one task, each trained for one epoch on a few images."""
    task = TASKS[request.param]
    tmp = tmp_path_factory.mktemp(f'roundtrip_{request.param}')
    data = tmp / 'data'
    task.generate(data)
    opts = data_options(data)
    tool('train.py', task.teacher_cfg, '--work-dir', tmp / 'teacher', '--cfg-options', *opts)
    teacher_ckpt = tmp / 'teacher' / 'epoch_1.pth'
    opts = [*opts, f'model.teacher_ckpt={teacher_ckpt}']
    tool('train.py', task.distill_cfg, '--work-dir', tmp / 'distill', '--cfg-options', *opts)
    return dict(task=task, name=request.param, tmp=tmp, data=data, opts=opts,
                teacher_ckpt=teacher_ckpt, ckpt=tmp / 'distill' / 'epoch_1.pth')


def test_teacher_unchanged_and_connectors_saved(trained):
    teacher = CheckpointLoader.load_checkpoint(str(trained['teacher_ckpt']), 'cpu')['state_dict']
    distill = CheckpointLoader.load_checkpoint(str(trained['ckpt']), 'cpu')['state_dict']
    copied = {k[len('teacher.'):]: v for k, v in distill.items() if k.startswith('teacher.')}
    assert copied.keys() == teacher.keys()
    assert all(torch.equal(copied[k], teacher[k]) for k in teacher)
    assert {k.split('.')[1] for k in distill if k.startswith('connectors.')} == {
        'res2', 'res3', 'res4', 'res5'}


def test_test_tool_reports_the_task_metric(trained):
    out = tool('test.py', trained['task'].distill_cfg, trained['ckpt'], '--work-dir',
               trained['tmp'] / 'test', '--cfg-options', *trained['opts'])
    line = next(ln for ln in out.splitlines() if ln.startswith('metrics: '))
    metrics = json.loads(line[len('metrics: '):])
    for key in trained['task'].metrics:
        assert 0.0 <= metrics[key] <= 100.0, (key, metrics)
    assert json.loads((trained['tmp'] / 'test' / 'metrics.json').read_text()) == metrics


def load_student(name: str, cfg: Path, ckpt: Path):
    """The exported student through its package's own loading API.

    Both APIs set the process-wide default scope; it is restored for later tests.
    """
    from mmengine.registry import DefaultScope
    from mmpretrain.apis import get_model
    from mmseg.apis import init_model

    with DefaultScope.overwrite_default_scope('rlpkd'):
        if name == 'seg':
            return init_model(str(cfg), str(ckpt), device='cpu')
        return get_model(str(cfg), pretrained=str(ckpt), device='cpu')


def val_batch(cfg, scope: str, data_root: Path) -> dict:
    """Two samples of the val split through the config's own test pipeline."""
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DATASETS, DefaultScope

    dataset_cfg = cfg.test_dataloader.dataset
    dataset_cfg.data_root = f'{data_root}/'
    with DefaultScope.overwrite_default_scope(scope):  # restored for later tests
        dataset = DATASETS.build(dataset_cfg)
        return pseudo_collate([dataset[0], dataset[1]])


def test_export_loads_with_the_task_api_and_predicts_the_same(trained):
    from mmengine.config import Config

    from rlpkd.registry import MODELS

    exported, student_cfg = trained['tmp'] / 'student.pth', trained['tmp'] / 'student_cfg.py'
    tool('export_student.py', trained['ckpt'], exported, '--config',
         trained['task'].distill_cfg, '--out-config', student_cfg)
    student = load_student(trained['name'], student_cfg, exported)
    state = torch.load(exported, map_location='cpu')['state_dict']
    missing, unexpected = student.load_state_dict(state, strict=False)
    assert not missing and not unexpected
    assert Config.fromfile(str(student_cfg)).default_scope == trained['task'].scope

    cfg = Config.fromfile(str(trained['task'].distill_cfg))
    cfg.merge_from_dict(dict(model=dict(teacher_ckpt=str(trained['teacher_ckpt']))))
    distiller = MODELS.build(cfg.model)
    distiller.load_state_dict(
        CheckpointLoader.load_checkpoint(str(trained['ckpt']), 'cpu')['state_dict'])
    student.eval()
    distiller.eval()
    data = val_batch(cfg, trained['task'].scope, trained['data'])
    with torch.no_grad():
        ours, theirs = student.test_step(data), distiller.test_step(data)
    if trained['name'] == 'seg':
        for a, b in zip(ours, theirs):
            torch.testing.assert_close(a.seg_logits.data, b.seg_logits.data)
    else:
        for a, b in zip(ours, theirs):
            torch.testing.assert_close(a.pred_score, b.pred_score)
