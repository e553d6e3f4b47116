"""PyramidDistiller on real MMSegmentation DeepLabV3+ and MMPretrain ResNet models.

The full-scale configs build the unmodified mmseg / mmpretrain model-zoo configs; only
the input is shrunk (64x64 images instead of 512x512 crops / 224x224 images), the
teacher checkpoint is not downloaded (random teacher).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch
from mmengine.optim import OptimWrapper

from rlpkd.models import PyramidDistiller
from rlpkd.testing import build_from_config, cls_batch, cls_data, det_batch, seg_batch, seg_data

ROOT = Path(__file__).resolve().parents[2]
CFG = ROOT / 'configs'
SEG = CFG / 'deeplabv3plus'
SEG_R101_R50 = SEG / 'kd-uniform_deeplabv3plus_r101-r50-d8_4xb4-80k_ade20k-512x512.py'
SEG_R101_R18 = SEG / 'kd-uniform_deeplabv3plus_r101-r18-d8_4xb4-80k_ade20k-512x512.py'
CLS_R101_R50 = CFG / 'resnet' / 'kd-uniform_resnet101-resnet50_8xb32_in1k.py'
TOY = {
    'det': CFG / 'faster_rcnn' / 'kd-uniform_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py',
    'seg': SEG / 'kd-uniform_deeplabv3plus_r18w32-r18w16-d8_toy-ade.py',
    'cls': CFG / 'resnet' / 'kd-uniform_resnet18w32-resnet18w16_toy-folder.py',
}
RES = ('res2', 'res3', 'res4', 'res5')


def train_step(model: PyramidDistiller, data: dict) -> dict:
    """One real optimiser step through ``train_step`` (preprocessor, loss, backward)."""
    model.train()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))
    return model.train_step(data, optim)


def teacher_snapshot(model: PyramidDistiller) -> dict:
    return {k: v.clone() for k, v in model.teacher.state_dict().items()}


def assert_teacher_unchanged(model: PyramidDistiller, before: dict) -> None:
    after = model.teacher.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)   # incl. BN statistics


@pytest.mark.parametrize('cfg, channels', [
    (SEG_R101_R50, {}),
    (SEG_R101_R18, {'res2': (64, 256), 'res3': (128, 512), 'res4': (256, 1024),
                    'res5': (512, 2048)}),
])
def test_unmodified_mmseg_deeplabv3plus_configs_train_step(cfg, channels):
    """DeepLabV3+ R101-D8 -> R50-D8 / R18-D8 from mmseg's ADE20K configs, one step."""
    torch.manual_seed(0)
    model = build_from_config(cfg)
    assert type(model.student).__name__ == 'EncoderDecoder'
    assert model.student.decode_head.num_classes == 150
    assert {name: (c.conv.in_channels, c.conv.out_channels)
            for name, c in model.connectors.items()} == channels
    # Shrink the input: the config pads every training batch to its 512x512 crop.
    model.data_preprocessor.size = (64, 64)
    data = seg_batch(model, size=(64, 64), num_classes=150)
    with model.pair.student_tap.record() as feats:
        model.student.extract_feat(data['inputs'])
    # Dilated -d8 backbone: res3-res5 share stride 8; res2 has stride 4.
    assert [tuple(f.shape[-2:]) for f in feats] == [(16, 16), (8, 8), (8, 8), (8, 8)]
    before = teacher_snapshot(model)
    student_before = model.student.backbone.layer1[0].conv1.weight.clone()
    log = train_step(model, seg_data(num_classes=150))
    for key in ('decode.loss_ce', 'aux.loss_ce', 'loss_distill', *[f'distill_{n}' for n in RES]):
        assert key in log and torch.isfinite(log[key]), key
    assert log['loss_distill'] > 0
    assert_teacher_unchanged(model, before)
    assert not torch.equal(student_before, model.student.backbone.layer1[0].conv1.weight)


def test_unmodified_mmpretrain_resnet_configs_train_step():
    """ResNet-101 -> ResNet-50 from mmpretrain's ImageNet configs, one step."""
    torch.manual_seed(0)
    model = build_from_config(CLS_R101_R50)
    assert type(model.student).__name__ == 'ImageClassifier'
    assert model.student.backbone.depth == 50 and model.teacher.backbone.depth == 101
    assert len(model.connectors) == 0  # both have 256 / 512 / 1024 / 2048 channels
    # mean / std come from the config's top-level data_preprocessor, as in mmpretrain
    pre = model.data_preprocessor
    assert pre is model.student.data_preprocessor and pre.to_rgb
    torch.testing.assert_close(pre.mean.flatten(), torch.tensor([123.675, 116.28, 103.53]))
    before = teacher_snapshot(model)
    fc_before = model.student.head.fc.weight.clone()
    log = train_step(model, cls_data(num_classes=1000))
    for key in ('loss', 'loss_distill', *[f'distill_{n}' for n in RES]):
        assert key in log and torch.isfinite(log[key]), key
    assert_teacher_unchanged(model, before)
    assert not torch.equal(fc_before, model.student.head.fc.weight)
    model.eval()
    with torch.no_grad():
        preds = model(**cls_batch(model, num_classes=1000), mode='predict')
    assert preds[0].pred_score.shape == (1000,)


def test_one_distiller_class_serves_all_three_tasks():
    """The three toy configs build the same class; each trains a step on its own task."""
    batches = {'det': lambda m: det_batch(m, size=(64, 64)), 'seg': seg_batch,
               'cls': cls_batch}
    built = {}
    for task, cfg in TOY.items():
        torch.manual_seed(0)
        model = build_from_config(cfg)
        built[task] = model
        losses = model(**batches[task](model), mode='loss')
        assert torch.isfinite(losses['loss_distill']), task
        losses['loss_distill'].backward()
    assert {type(m) for m in built.values()} == {PyramidDistiller}
    assert built['det'].level_names == ('P2', 'P3', 'P4', 'P5')
    assert built['seg'].level_names == built['cls'].level_names == RES
    assert {type(m.student).__name__ for m in built.values()} == {
        'FasterRCNN', 'EncoderDecoder', 'ImageClassifier'}


def test_distiller_module_imports_no_task_package():
    """Nothing task-specific in the distiller: it imports no mmdet / mmseg / mmpretrain."""
    path = ROOT / 'rlpkd' / 'models' / 'distillers' / 'pyramid_distiller.py'
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split('.')[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split('.')[0])
    assert not imported & {'mmdet', 'mmseg', 'mmpretrain'}


def test_toy_seg_predict_is_the_students():
    """``predict`` of the distiller is the student's: same seg maps, no teacher needed."""
    torch.manual_seed(0)
    model = build_from_config(TOY['seg'])
    model.eval()
    data = seg_batch(model)
    with torch.no_grad():
        ours = model(**data, mode='predict')
        theirs = model.student(**data, mode='predict')
    assert torch.equal(ours[0].pred_sem_seg.data, theirs[0].pred_sem_seg.data)
    assert ours[0].pred_sem_seg.data.shape == (1, 64, 64)
