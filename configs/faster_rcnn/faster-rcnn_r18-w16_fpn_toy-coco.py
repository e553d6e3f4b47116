# Toy student: Faster R-CNN with ResNet-18 (16 base channels) + FPN 64.
# Trained alone it is the "student only" baseline of the demo.
_base_ = [
    '../_base_/models/toy_faster-rcnn_fpn.py',
    '../_base_/datasets/toy_coco_detection.py',
    '../_base_/schedules/toy_12e.py',
    'mmdet::_base_/default_runtime.py',
]
model = dict(
    backbone=dict(base_channels=16),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=128)))
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=12))
