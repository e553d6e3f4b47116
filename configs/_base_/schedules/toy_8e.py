# 8 epochs on the toy data (~30 iterations each at batch 8), validation at the end:
# the 12-epoch toy schedule shortened so that the Mask R-CNN demo (teacher, student,
# uniform KD, RL-PyramidKD) stays a few minutes on 2 CPU cores.
_base_ = './toy_12e.py'

train_cfg = dict(max_epochs=8, val_interval=8)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=60),
    dict(type='MultiStepLR', begin=0, end=8, by_epoch=True, milestones=[6, 7], gamma=0.1)
]
