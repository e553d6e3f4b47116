# RL-PyramidKD, ResNet-101 -> ResNet-50 on ImageNet-1k, 8 GPUs x 32 images: mmpretrain's
# 100 epochs split as the prototype split its 40: phase 1 warm-up 25 epochs (all
# levels), phase 2 policy learning 50 epochs, phase 3 joint fine-tuning 25 epochs
# (the phases of ../_base_/schedules/rlpkd_phases.py; mmpretrain's lr steps at 30, 60
# and 90 unchanged). The pyramid is the student backbone's res2-res5, so the reward's
# virtual step is a step of the backbone, one sample at a time: 8 of each scored batch
# of 32 are scored (collect_samples). The student trains in phase 2 (freezing its
# backbone there is an option, see that file).
_base_ = [
    './kd-uniform_resnet101-resnet50_8xb32_in1k.py',
    '../_base_/schedules/rlpkd_phases.py',
]
model = dict(selector={{_base_.rl_selector}})
train_cfg = dict(
    _base_.rl_train_cfg,
    phases=[dict(phase, epochs=n, collect_samples=8)
            for phase, n in zip(_base_.rl_train_cfg.phases, (25, 50, 25))],
    val_interval=1)
test_evaluator = [
    {{_base_.test_evaluator}},
    dict(type='rlpkd.LevelSelectionMetric', level_names=('res2', 'res3', 'res4', 'res5')),
]
