"""Toy instance-segmentation round trip through the real tools, as a user runs them.

toy COCO data (exact polygon masks) -> train.py (Mask R-CNN distiller) -> test.py
(CocoMetric bbox + segm) -> export_student.py -> mmdet.apis.init_detector /
inference_detector, whose masks must equal the distiller's own prediction.

To stay fast the teacher is not trained: its initial weights are saved as the
teacher checkpoint (the detection round trip covers training a teacher with the tools).
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
CFG = ROOT / 'configs' / 'mask_rcnn'
TEACHER_CFG = CFG / 'mask-rcnn_r18-w32_fpn_toy-coco.py'
DISTILL_CFG = CFG / 'kd-uniform_mask-rcnn_r18w32-r18w16_fpn_toy-coco.py'


def tool(name: str, *args) -> str:
    proc = subprocess.run([sys.executable, str(ROOT / 'tools' / name), *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def data_options(data: Path) -> list[str]:
    """Point the toy config at ``data``; one epoch, no worker processes."""
    ann_val = f'{data}/annotations/instances_val.json'
    opts = [f'val_evaluator.ann_file={ann_val}', f'test_evaluator.ann_file={ann_val}',
            'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
            'default_hooks.checkpoint.interval=1']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.data_root={data}/', f'{loader}.num_workers=0',
                 f'{loader}.persistent_workers=False']
    return opts


def save_initial_teacher(path: Path) -> None:
    """The toy teacher's initial weights as an mmengine checkpoint."""
    from rlpkd.models.utils import build_mm_model
    torch.manual_seed(0)
    teacher = build_mm_model(dict(cfg_path=str(TEACHER_CFG)))
    torch.save({'meta': {}, 'state_dict': teacher.state_dict()}, path)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """The uniform-KD Mask R-CNN distiller trained for one epoch on 8 toy images."""
    tmp = tmp_path_factory.mktemp('ins_roundtrip')
    data = tmp / 'data'
    generate_toy_coco(data, num_train=8, num_val=3, seed=3)
    teacher_ckpt = tmp / 'teacher.pth'
    save_initial_teacher(teacher_ckpt)
    opts = [*data_options(data), f'model.teacher_ckpt={teacher_ckpt}']
    tool('train.py', DISTILL_CFG, '--work-dir', tmp / 'distill', '--cfg-options', *opts)
    return dict(tmp=tmp, data=data, opts=opts, teacher_ckpt=teacher_ckpt,
                ckpt=tmp / 'distill' / 'epoch_1.pth')


def test_test_tool_reports_bbox_and_mask_map(trained):
    out = tool('test.py', DISTILL_CFG, trained['ckpt'], '--work-dir', trained['tmp'] / 'test',
               '--cfg-options', *trained['opts'])
    line = next(ln for ln in out.splitlines() if ln.startswith('metrics: '))
    metrics = json.loads(line[len('metrics: '):])
    for key in ('coco/bbox_mAP', 'coco/segm_mAP', 'coco/segm_mAP_50', 'coco/segm_mAP_s'):
        assert 0.0 <= metrics[key] <= 1.0, key
    assert json.loads((trained['tmp'] / 'test' / 'metrics.json').read_text()) == metrics


def test_export_loads_into_mmdet_and_predicts_the_same_masks(trained):
    from mmdet.apis import inference_detector, init_detector
    from mmengine.config import Config

    from rlpkd.registry import MODELS

    exported = trained['tmp'] / 'student.pth'
    student_cfg = trained['tmp'] / 'student_cfg.py'
    tool('export_student.py', trained['ckpt'], exported, '--config', DISTILL_CFG,
         '--out-config', student_cfg)
    assert 'rlpkd' not in student_cfg.read_text()
    detector = init_detector(str(student_cfg), str(exported), device='cpu')
    assert type(detector).__name__ == 'MaskRCNN'
    state = torch.load(exported, map_location='cpu')['state_dict']
    missing, unexpected = detector.load_state_dict(state, strict=False)
    assert not missing and not unexpected

    cfg = Config.fromfile(str(DISTILL_CFG))
    cfg.merge_from_dict(dict(model=dict(teacher_ckpt=str(trained['teacher_ckpt']))))
    distiller = MODELS.build(cfg.model)
    distiller.load_state_dict(
        CheckpointLoader.load_checkpoint(str(trained['ckpt']), 'cpu')['state_dict'])
    distiller.eval()
    distiller.cfg = detector.cfg  # inference_detector reads the test pipeline from .cfg
    image = str(sorted((trained['data'] / 'val').glob('*.png'))[0])
    ours = inference_detector(detector, image).pred_instances
    theirs = inference_detector(distiller, image).pred_instances
    assert len(ours) > 0 and ours.masks.shape[-2:] == (128, 128)
    assert ours.masks.dtype == torch.bool
    assert torch.equal(ours.masks, theirs.masks)
    torch.testing.assert_close(ours.bboxes, theirs.bboxes)
    torch.testing.assert_close(ours.scores, theirs.scores)
    assert torch.equal(ours.labels, theirs.labels)
