# RL-PyramidKD, Faster R-CNN R101-FPN -> R50-FPN on COCO 2017, 8 GPUs x 2 images, the
# prototype's 40 epochs: phase 1 warm-up 10 epochs (all levels), phase 2 policy learning
# 20 epochs, phase 3 joint fine-tuning 10 epochs. The phases are those of
# ../_base_/schedules/rlpkd_phases.py (the student trains in phase 2; freezing its
# backbone there is an option, see that file).
_base_ = [
    './kd-uniform_faster-rcnn_r101-r50_fpn_1x_coco.py',
    '../_base_/schedules/rlpkd_phases.py',
]
model = dict(selector={{_base_.rl_selector}})
train_cfg = dict(
    _base_.rl_train_cfg,
    phases=[dict(phase, epochs=n)
            for phase, n in zip(_base_.rl_train_cfg.phases, (10, 20, 10))],
    val_interval=5)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=40, by_epoch=True, milestones=[27, 36],
         gamma=0.1)
]
test_evaluator = [
    {{_base_.test_evaluator}},
    dict(type='rlpkd.LevelSelectionMetric', level_names=('P2', 'P3', 'P4', 'P5')),
]
