# 12 epochs of SGD + cosine decay for the toy segmentation data (38 iterations each
# at batch 16), validation at the end. Plain SGD at mmseg's 0.01 is too slow for a
# from-scratch model in ~450 iterations; 0.1 with a short warm-up learns in time.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=12)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', begin=0, end=12, by_epoch=True, eta_min=1e-5)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0001))
