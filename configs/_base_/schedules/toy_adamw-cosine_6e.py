# 6 epochs of AdamW + cosine decay for the toy classification data (57 iterations
# each at batch 32), validation at the end. From scratch, SGD needs several times
# more iterations to get past chance on this data.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=6, val_interval=6)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', begin=0, end=6, by_epoch=True, eta_min=1e-5)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.001, weight_decay=0.0001))
