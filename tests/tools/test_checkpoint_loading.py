"""Checkpoints loaded into a distiller through tools/train.py keep what the config says:
a student-alone ``load_from`` is loaded into the student, the teacher stays the
configured ``model.teacher_ckpt``."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.runner import CheckpointLoader

from rlpkd.datasets import generate_toy_coco
from rlpkd.models.utils import build_mm_model
from rlpkd.testing import TOY_STUDENT, TOY_TEACHER, build_distiller

ROOT = Path(__file__).resolve().parents[2]
DISTILL_CFG = (ROOT / 'configs' / 'faster_rcnn'
               / 'kd-uniform_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py')


def train(work: Path, data: Path, *options: str) -> str:
    ann = f'{data}/annotations/instances_val.json'
    opts = [f'{k}_dataloader.{v}' for k in ('train', 'val', 'test')
            for v in (f'dataset.data_root={data}/', 'num_workers=0',
                      'persistent_workers=False')]
    opts += [f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}',
             'train_cfg.max_epochs=1', 'train_cfg.val_interval=10',
             'default_hooks.checkpoint.interval=1', 'train_dataloader.batch_size=4',
             'optim_wrapper.optimizer.lr=0.0', *options]  # lr 0: loaded weights stay
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / 'train.py'), str(DISTILL_CFG),
                           '--work-dir', str(work), '--cfg-options', *opts],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def save(state_dict: dict, path: Path) -> Path:
    torch.save(dict(state_dict=state_dict, meta=dict()), path)
    return path


def weights(path: Path, prefix: str) -> dict:
    sd = CheckpointLoader.load_checkpoint(str(path), 'cpu')['state_dict']
    return {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('ckpt') / 'data'
    generate_toy_coco(root, num_train=4, num_val=2, seed=7)
    return root


def test_student_alone_load_from_loads_the_student(data, tmp_path):
    torch.manual_seed(11)
    student = build_mm_model(dict(cfg_path=TOY_STUDENT), key='student')
    ckpt = save(student.state_dict(), tmp_path / 'student_alone.pth')
    log = train(tmp_path / 'run', data, f'load_from={ckpt}', 'model.teacher_ckpt=None')
    assert 'the checkpoint holds the student alone' in log
    trained = weights(tmp_path / 'run' / 'epoch_1.pth', 'student.')
    for key in ('backbone.conv1.weight', 'neck.fpn_convs.0.conv.weight',
                'roi_head.bbox_head.fc_cls.weight'):
        torch.testing.assert_close(trained[key], student.state_dict()[key])


def test_load_from_keeps_the_configured_teacher(data, tmp_path):
    teachers = []
    for seed in (1, 2):  # teacher A (the checkpoint's) and B (the configured one)
        torch.manual_seed(seed)
        teacher = build_mm_model(dict(cfg_path=TOY_TEACHER), key='teacher')
        teachers.append(save(teacher.state_dict(), tmp_path / f'teacher_{seed}.pth'))
    distilled_with_a = build_distiller(teacher_ckpt=str(teachers[0]))
    ckpt = save(distilled_with_a.state_dict(), tmp_path / 'distilled_with_a.pth')
    log = train(tmp_path / 'run', data, f'load_from={ckpt}', f'model.teacher_ckpt={teachers[1]}')
    assert 'distilled from another teacher than model.teacher_ckpt' in log
    used = weights(tmp_path / 'run' / 'epoch_1.pth', 'teacher.')
    configured = weights(teachers[1], '')
    assert all(torch.equal(used[k], configured[k]) for k in configured)
