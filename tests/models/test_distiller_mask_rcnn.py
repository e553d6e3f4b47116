"""PyramidDistiller on real MMDetection Mask R-CNN models (instance segmentation).

The full-scale configs build mmdet's unmodified Mask R-CNN R101-FPN / R50-FPN COCO
configs into the same ``PyramidDistiller`` as detection, segmentation and
classification; only the input is shrunk (one 64x64 image) and the teacher checkpoint
is not downloaded (random teacher).
"""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rlpkd.apis.cli import read_config
from rlpkd.models import PyramidDistiller
from rlpkd.testing import build_from_config, ins_batch, ins_data

ROOT = Path(__file__).resolve().parents[2]
CFG = ROOT / 'configs' / 'mask_rcnn'
FULL_KD = CFG / 'kd-uniform_mask-rcnn_r101-r50_fpn_1x_coco.py'
FULL_RL = CFG / 'rlpkd_mask-rcnn_r101-r50_fpn_40e_coco.py'
TOY_KD = CFG / 'kd-uniform_mask-rcnn_r18w32-r18w16_fpn_toy-coco.py'
TOY_RL = CFG / 'rlpkd_mask-rcnn_r18w32-r18w16_fpn_toy-coco.py'
LEVELS = ('P2', 'P3', 'P4', 'P5')
TEACHER_URL = ('https://download.openmmlab.com/mmdetection/v2.0/mask_rcnn/'
               'mask_rcnn_r101_fpn_1x_coco/mask_rcnn_r101_fpn_1x_coco_20200204-1efe0ed5.pth')


def test_unmodified_mmdet_mask_rcnn_configs_train_step():
    """Mask R-CNN R101-FPN -> R50-FPN from mmdet's COCO configs, one step on one image.

    The distillation loss reaches the student (neck and backbone) and never the teacher.
    """
    torch.manual_seed(0)
    model = build_from_config(FULL_KD)
    assert isinstance(model, PyramidDistiller)
    assert type(model.student).__name__ == type(model.teacher).__name__ == 'MaskRCNN'
    assert (model.student.backbone.depth, model.teacher.backbone.depth) == (50, 101)
    assert model.student.roi_head.mask_head.num_classes == 80
    assert len(model.connectors) == 0  # both FPNs are 256 channels wide
    assert model.level_names == LEVELS
    model.train()
    losses = model(**ins_batch(model), mode='loss')
    for key in ('loss_mask', 'loss_rpn_cls', 'loss_cls', 'loss_distill',
                *[f'distill_{n}' for n in LEVELS]):
        assert key in losses, key
    for key in ('loss_mask', 'loss_distill'):
        assert torch.isfinite(losses[key]).all() and losses[key] > 0, key
    losses['loss_distill'].backward()
    assert not any(p.requires_grad for p in model.teacher.parameters())
    assert all(p.grad is None for p in model.teacher.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.student.neck.parameters())
    assert model.student.backbone.layer4[-1].conv3.weight.grad.abs().sum() > 0
    # the task heads take no distillation gradient
    assert all(p.grad is None for p in model.student.roi_head.mask_head.parameters())


def test_full_scale_configs_name_the_zoo_teacher_and_mask_metric():
    """Both full configs: mmdet zoo teacher, COCO bbox + segm evaluation, 40e RL phases."""
    kd, rl = read_config(str(FULL_KD)), read_config(str(FULL_RL))
    for cfg in (kd, rl):
        assert cfg.model.type == 'rlpkd.PyramidDistiller'
        assert cfg.model.teacher_ckpt == TEACHER_URL
        assert cfg.model.teacher.cfg_path == 'mmdet::mask_rcnn/mask-rcnn_r101_fpn_1x_coco.py'
        assert cfg.model.student.cfg_path == 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
        coco = cfg.test_evaluator[0] if isinstance(cfg.test_evaluator, list) \
            else cfg.test_evaluator
        assert coco.type == 'CocoMetric' and list(coco.metric) == ['bbox', 'segm']
        assert cfg.train_dataloader.dataset.pipeline[1].with_mask
    assert kd.model.selector.type == 'rlpkd.UniformSelector'
    assert rl.model.selector.type == 'rlpkd.RLSelector'
    assert rl.train_cfg.type == 'rlpkd.PhaseTrainLoop'
    assert [p.epochs for p in rl.train_cfg.phases] == [10, 20, 10]
    assert rl.test_evaluator[1].type == 'rlpkd.LevelSelectionMetric'


@pytest.mark.parametrize('cfg', [TOY_KD, TOY_RL], ids=['uniform', 'rlpkd'])
def test_toy_configs_train_step_and_predict_masks(cfg):
    """The toy uniform / RL configs: a train step with masks; predict is the student's."""
    torch.manual_seed(0)
    model = build_from_config(cfg)
    assert type(model.student).__name__ == 'MaskRCNN'
    assert {n: (c.conv.in_channels, c.conv.out_channels)
            for n, c in model.connectors.items()} == {n: (64, 128) for n in LEVELS}
    model.train()
    losses = model(**ins_batch(model, size=(64, 64)), mode='loss')
    assert torch.isfinite(losses['loss_mask']) and torch.isfinite(losses['loss_distill'])
    model.eval()
    data = model.data_preprocessor(ins_data(size=(64, 64), seed=1), False)
    with torch.no_grad():
        ours = model(**data, mode='predict')[0].pred_instances
        theirs = model.student(**data, mode='predict')[0].pred_instances
    assert ours.masks.shape[-2:] == (64, 64)
    assert torch.equal(ours.masks, theirs.masks)
    torch.testing.assert_close(ours.bboxes, theirs.bboxes)
