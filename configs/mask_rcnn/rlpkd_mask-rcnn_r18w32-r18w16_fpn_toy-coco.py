# RL-PyramidKD on the CPU toy instance data: the toy teacher / student of
# kd-uniform_mask-rcnn_r18w32-r18w16_fpn_toy-coco.py, 8 epochs split into the three
# phases (3 warm-up, 2 policy learning with the student backbone frozen, 3 joint).
_base_ = [
    './kd-uniform_mask-rcnn_r18w32-r18w16_fpn_toy-coco.py',
    '../_base_/distillers/rlpkd.py',
]
model = dict(selector={{_base_.rl_selector}})
train_cfg = dict(
    _delete_=True,
    type='rlpkd.PhaseTrainLoop',
    phases=[
        dict(name='warmup', epochs=3, mode='uniform'),
        dict(name='policy', epochs=2, mode='sample', freeze=('backbone', ),
             learner='ppo', collect_interval=1, update_interval=4),
        dict(name='joint', epochs=3, mode='sample', learner='ppo', collect_interval=10,
             update_interval=4),
    ],
    learners=dict(ppo={{_base_.ppo_learner}}),
    val_interval=8)
test_evaluator = [
    {{_base_.test_evaluator}},
    # selection rates, adaptivity and, from the toy size groups, per-group rates / MI
    dict(type='rlpkd.LevelSelectionMetric', level_names=('P2', 'P3', 'P4', 'P5'),
         group_file='data/toy_coco/annotations/instances_val.json'),
]
