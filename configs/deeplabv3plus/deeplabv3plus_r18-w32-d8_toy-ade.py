# Toy teacher: DeepLabV3+ with a dilated ResNet-18 V1c (32 base channels).
# A plain MMSegmentation config: `tools/train.py` trains it like any mmseg model.
_base_ = [
    '../_base_/models/toy_deeplabv3plus_r18-d8.py',
    '../_base_/datasets/toy_ade_segmentation.py',
    '../_base_/schedules/toy_sgd-cosine_12e.py',
    '../_base_/toy_runtime_seg.py',
]
model = dict(
    backbone=dict(stem_channels=32, base_channels=32),
    decode_head=dict(in_channels=256, channels=64, c1_in_channels=32, c1_channels=16),
    auxiliary_head=dict(in_channels=128, channels=32))
