# RL-PyramidKD on the CPU toy classification data (levels res2-res5): 6 epochs in
# three phases. The reward's virtual step is taken on the student backbone, one sample at
# a time, so only 8 of the 32 samples of a collecting batch are scored (collect_samples).
_base_ = [
    './kd-uniform_resnet18w32-resnet18w16_toy-folder.py',
    '../_base_/distillers/rlpkd.py',
]
model = dict(selector={{_base_.rl_selector}})
train_cfg = dict(
    _delete_=True,
    type='rlpkd.PhaseTrainLoop',
    phases=[
        dict(name='warmup', epochs=2, mode='uniform'),
        dict(name='policy', epochs=2, mode='sample', freeze=('backbone', ),
             learner='ppo', collect_interval=2, update_interval=4, collect_samples=8),
        dict(name='joint', epochs=2, mode='sample', learner='ppo', collect_interval=10,
             update_interval=4, collect_samples=8),
    ],
    learners=dict(ppo={{_base_.ppo_learner}}),
    val_interval=6)
test_evaluator = [
    {{_base_.test_evaluator}},
    # selection rates, adaptivity and, from the toy size groups, per-group rates / MI
    dict(type='rlpkd.LevelSelectionMetric', level_names=('res2', 'res3', 'res4', 'res5'),
         group_file='data/toy_folder/size_groups.json'),
]
