# Toy student: DeepLabV3+ with a dilated ResNet-18 V1c (16 base channels).
# Trained alone it is the "student only" baseline of the demo.
_base_ = [
    '../_base_/models/toy_deeplabv3plus_r18-d8.py',
    '../_base_/datasets/toy_ade_segmentation.py',
    '../_base_/schedules/toy_sgd-cosine_12e.py',
    '../_base_/toy_runtime_seg.py',
]
model = dict(
    backbone=dict(stem_channels=16, base_channels=16),
    decode_head=dict(in_channels=128, channels=32, c1_in_channels=16, c1_channels=8),
    auxiliary_head=dict(in_channels=64, channels=16))
