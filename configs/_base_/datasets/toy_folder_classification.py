# Toy ImageNet-style classification data made by `python tools/make_toy_data.py cls`:
# 64x64 images, each of circles, squares or triangles only (the class); some images
# hold only small shapes, some only large ones. train/<class>/*.png + meta/train.txt.
dataset_type = 'ImageNet'
data_root = 'data/toy_folder/'
metainfo = dict(classes=('circle', 'square', 'triangle'))
data_preprocessor = dict(
    num_classes=3,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='meta/train.txt',
        data_prefix='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='meta/val.txt',
        data_prefix='val',
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# Top-1 only: top-5 of 3 classes is always 100 %.
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
