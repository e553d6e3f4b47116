# RL-PyramidKD on the CPU toy data: the toy teacher / student of
# kd-uniform_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py, 12 epochs split into the three
# phases (4 warm-up, 4 policy learning with the student backbone frozen, 4 joint).
_base_ = [
    './kd-uniform_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py',
    '../_base_/distillers/rlpkd.py',
]
model = dict(selector={{_base_.rl_selector}})
train_cfg = dict(
    _delete_=True,
    type='rlpkd.PhaseTrainLoop',
    phases=[
        dict(name='warmup', epochs=4, mode='uniform'),
        dict(name='policy', epochs=4, mode='sample', freeze=('backbone', ),
             rollout_interval=1, ppo_interval=4),
        dict(name='joint', epochs=4, mode='sample', rollout_interval=10, ppo_interval=4),
    ],
    ppo={{_base_.ppo}},
    val_interval=12)
test_evaluator = [
    {{_base_.test_evaluator}},
    dict(type='rlpkd.LevelSelectionMetric', level_names=('P2', 'P3', 'P4', 'P5')),
]
