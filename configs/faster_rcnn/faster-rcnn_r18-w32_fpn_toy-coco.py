# Toy teacher: Faster R-CNN with ResNet-18 (32 base channels) + FPN 128.
# A plain MMDetection config: `tools/train.py` trains it like any mmdet model.
_base_ = [
    '../_base_/models/toy_faster-rcnn_fpn.py',
    '../_base_/datasets/toy_coco_detection.py',
    '../_base_/schedules/toy_12e.py',
    'mmdet::_base_/default_runtime.py',
]
model = dict(
    backbone=dict(base_channels=32),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=128),
    rpn_head=dict(in_channels=128, feat_channels=128),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=128),
        bbox_head=dict(in_channels=128, fc_out_channels=256)))
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=12))
