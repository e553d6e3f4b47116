# Toy student: ResNet-18 classifier with 16 base channels.
# Trained alone it is the "student only" baseline of the demo.
_base_ = [
    '../_base_/models/toy_resnet18.py',
    '../_base_/datasets/toy_folder_classification.py',
    '../_base_/schedules/toy_adamw-cosine_6e.py',
    '../_base_/toy_runtime_cls.py',
]
model = dict(
    backbone=dict(stem_channels=16, base_channels=16),
    head=dict(in_channels=128))
