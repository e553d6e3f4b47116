# 18 epochs of AdamW + cosine decay for the toy classification data: the 6-epoch
# schedule, three times as long (the toy teacher's: a teacher worth distilling).
_base_ = ['./toy_adamw-cosine_6e.py']
train_cfg = dict(max_epochs=18, val_interval=18)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', begin=0, end=18, by_epoch=True, eta_min=1e-5)
]
