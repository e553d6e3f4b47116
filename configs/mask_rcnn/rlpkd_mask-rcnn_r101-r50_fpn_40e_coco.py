# RL-PyramidKD, Mask R-CNN R101-FPN -> R50-FPN on COCO 2017 instance segmentation,
# 8 GPUs x 2 images: phase 1 warm-up 10 epochs (all levels), phase 2 policy learning
# 20 epochs (student backbone frozen), phase 3 joint fine-tuning 10 epochs.
_base_ = [
    './kd-uniform_mask-rcnn_r101-r50_fpn_1x_coco.py',
    '../_base_/distillers/rlpkd.py',
]
model = dict(selector={{_base_.rl_selector}})
train_cfg = dict(
    _delete_=True,
    type='rlpkd.PhaseTrainLoop',
    phases=[
        dict(name='warmup', epochs=10, mode='uniform'),
        dict(name='policy', epochs=20, mode='sample', freeze=('backbone', ),
             learner='ppo', collect_interval=1, update_interval=4),
        dict(name='joint', epochs=10, mode='sample', learner='ppo', collect_interval=10,
             update_interval=4),
    ],
    learners=dict(ppo={{_base_.ppo_learner}}),
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
