# Toy student: Mask R-CNN with ResNet-18 (16 base channels) + FPN 64, half the toy
# teacher's widths. Trained alone it is the "student only" baseline of the demo.
_base_ = [
    '../_base_/models/toy_mask-rcnn_fpn.py',
    '../_base_/datasets/toy_coco_instance.py',
    '../_base_/schedules/toy_8e.py',
    'mmdet::_base_/default_runtime.py',
]
model = dict(
    backbone=dict(base_channels=16),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=128),
        mask_roi_extractor=dict(out_channels=64),
        mask_head=dict(in_channels=64, conv_out_channels=32)))
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=8))
