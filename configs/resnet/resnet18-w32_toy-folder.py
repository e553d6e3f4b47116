# Toy teacher: ResNet-18 classifier with 32 base channels.
# A plain MMPretrain config: `tools/train.py` trains it like any mmpretrain model.
_base_ = [
    '../_base_/models/toy_resnet18.py',
    '../_base_/datasets/toy_folder_classification.py',
    '../_base_/schedules/toy_adamw-cosine_6e.py',
    '../_base_/toy_runtime_cls.py',
]
model = dict(
    backbone=dict(stem_channels=32, base_channels=32),
    head=dict(in_channels=256))
