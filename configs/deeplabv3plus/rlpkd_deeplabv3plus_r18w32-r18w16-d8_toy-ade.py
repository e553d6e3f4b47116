# RL-PyramidKD on the CPU toy segmentation data (levels res2-res5 of the dilated
# backbone): 12 epochs in three phases. The reward's virtual step is taken on the
# student backbone (the module that produces this pyramid).
_base_ = [
    './kd-uniform_deeplabv3plus_r18w32-r18w16-d8_toy-ade.py',
    '../_base_/distillers/rlpkd.py',
]
model = dict(selector={{_base_.rl_selector}})
train_cfg = dict(
    _delete_=True,
    type='rlpkd.PhaseTrainLoop',
    phases=[
        dict(name='warmup', epochs=4, mode='uniform'),
        dict(name='policy', epochs=4, mode='sample', freeze=('backbone', ),
             learner='ppo', collect_interval=2, update_interval=4),
        dict(name='joint', epochs=4, mode='sample', learner='ppo', collect_interval=10,
             update_interval=4),
    ],
    learners=dict(ppo={{_base_.ppo_learner}}),
    val_interval=12)
test_evaluator = [
    {{_base_.test_evaluator}},
    # selection rates, adaptivity and, from the toy size groups, per-group rates / MI
    dict(type='rlpkd.LevelSelectionMetric', level_names=('res2', 'res3', 'res4', 'res5'),
         group_file='data/toy_ade/size_groups.json'),
]
