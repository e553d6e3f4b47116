# Toy teacher: Mask R-CNN with ResNet-18 (32 base channels) + FPN 128 on the toy COCO
# shapes with their exact instance masks. A plain MMDetection config: `tools/train.py`
# trains it like any mmdet model.
_base_ = [
    '../_base_/models/toy_mask-rcnn_fpn.py',
    '../_base_/datasets/toy_coco_instance.py',
    '../_base_/schedules/toy_8e.py',
    'mmdet::_base_/default_runtime.py',
]
model = dict(
    backbone=dict(base_channels=32),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=128),
    rpn_head=dict(in_channels=128, feat_channels=128),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=128),
        bbox_head=dict(in_channels=128, fc_out_channels=256),
        mask_roi_extractor=dict(out_channels=128),
        mask_head=dict(in_channels=128, conv_out_channels=64)))
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=8))
