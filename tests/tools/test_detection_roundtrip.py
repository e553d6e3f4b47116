"""Toy detection round trip through the real tools, as a user runs them.

make_toy_data -> train.py (teacher) -> train.py (distiller) -> test.py (CocoMetric)
-> export_student.py -> mmdet.apis.init_detector.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.runner import CheckpointLoader

from rlpkd.datasets import generate_toy_coco

ROOT = Path(__file__).resolve().parents[2]
CFG = ROOT / 'configs' / 'faster_rcnn'
TEACHER_CFG = CFG / 'faster-rcnn_r18-w32_fpn_toy-coco.py'
STUDENT_CFG = CFG / 'faster-rcnn_r18-w16_fpn_toy-coco.py'
DISTILL_CFG = CFG / 'kd-uniform_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'


def tool(name: str, *args: str) -> str:
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / name), *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def data_options(data: Path) -> list[str]:
    ann_val = f'{data}/annotations/instances_val.json'
    return [f'train_dataloader.dataset.data_root={data}/',
            f'val_dataloader.dataset.data_root={data}/',
            f'test_dataloader.dataset.data_root={data}/',
            f'val_evaluator.ann_file={ann_val}', f'test_evaluator.ann_file={ann_val}',
            'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
            'default_hooks.checkpoint.interval=1',
            'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
            'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
            'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """Teacher and distiller each trained for one epoch on 16 toy images."""
    tmp = tmp_path_factory.mktemp('roundtrip')
    data = tmp / 'data'
    generate_toy_coco(data, num_train=16, num_val=6, seed=3)
    opts = data_options(data)
    tool('train.py', TEACHER_CFG, '--work-dir', tmp / 'teacher', '--cfg-options', *opts)
    teacher_ckpt = tmp / 'teacher' / 'epoch_1.pth'
    distill_opts = [*opts, f'model.teacher_ckpt={teacher_ckpt}']
    tool('train.py', DISTILL_CFG, '--work-dir', tmp / 'distill', '--cfg-options', *distill_opts)
    return dict(tmp=tmp, data=data, opts=distill_opts, teacher_ckpt=teacher_ckpt,
                ckpt=tmp / 'distill' / 'epoch_1.pth')


def test_teacher_unchanged_by_distillation(trained):
    teacher = CheckpointLoader.load_checkpoint(str(trained['teacher_ckpt']), 'cpu')['state_dict']
    distill = CheckpointLoader.load_checkpoint(str(trained['ckpt']), 'cpu')['state_dict']
    copied = {k[len('teacher.'):]: v for k, v in distill.items() if k.startswith('teacher.')}
    assert copied.keys() == teacher.keys()
    assert all(torch.equal(copied[k], teacher[k]) for k in teacher)
    assert any(k.startswith('connectors.') for k in distill)


def test_test_tool_reports_coco_map(trained):
    out = tool('test.py', DISTILL_CFG, trained['ckpt'], '--work-dir', trained['tmp'] / 'test',
               '--cfg-options', *trained['opts'])
    line = next(ln for ln in out.splitlines() if ln.startswith('metrics: '))
    metrics = json.loads(line[len('metrics: '):])
    assert 0.0 <= metrics['coco/bbox_mAP'] <= 1.0
    assert json.loads((trained['tmp'] / 'test' / 'metrics.json').read_text()) == metrics


def test_export_loads_into_mmdet_and_predicts_the_same(trained):
    from mmdet.apis import inference_detector, init_detector
    from mmengine.config import Config

    exported = trained['tmp'] / 'student.pth'
    student_cfg = trained['tmp'] / 'student_cfg.py'
    tool('export_student.py', trained['ckpt'], exported, '--config', DISTILL_CFG,
         '--out-config', student_cfg)
    state = torch.load(exported, map_location='cpu')['state_dict']
    detector = init_detector(str(student_cfg), str(exported), device='cpu')
    missing, unexpected = detector.load_state_dict(state, strict=False)
    assert not missing and not unexpected

    cfg = Config.fromfile(str(DISTILL_CFG))
    cfg.merge_from_dict(dict(model=dict(teacher_ckpt=str(trained['teacher_ckpt']))))
    from rlpkd.registry import MODELS
    distiller = MODELS.build(cfg.model)
    distiller.load_state_dict(
        CheckpointLoader.load_checkpoint(str(trained['ckpt']), 'cpu')['state_dict'])
    distiller.eval()
    image = str(next((trained['data'] / 'val').glob('*.png')))
    ours = inference_detector(detector, image).pred_instances
    distiller.cfg = detector.cfg  # inference_detector reads the test pipeline from .cfg
    theirs = inference_detector(distiller, image).pred_instances
    torch.testing.assert_close(ours.bboxes, theirs.bboxes)
    torch.testing.assert_close(ours.scores, theirs.scores)


def test_resume_continues_from_the_last_checkpoint(trained):
    import shutil
    work_dir = trained['tmp'] / 'resumed'
    shutil.copytree(trained['tmp'] / 'distill', work_dir)
    out = subprocess.run(
        [sys.executable, str(ROOT / 'tools' / 'train.py'), str(DISTILL_CFG), '--work-dir',
         str(work_dir), '--resume', '--cfg-options', *trained['opts'],
         'train_cfg.max_epochs=2'], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'resumed epoch: 1' in out.stdout + out.stderr
    resumed = CheckpointLoader.load_checkpoint(str(work_dir / 'epoch_2.pth'), 'cpu')
    assert resumed['meta']['epoch'] == 2
    assert 'optimizer' in resumed
