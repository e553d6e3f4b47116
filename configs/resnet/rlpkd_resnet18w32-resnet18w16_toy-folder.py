# RL-PyramidKD on the CPU toy classification data (levels res2-res5): 6 epochs in
# three phases. The reward's virtual step is taken on the student backbone, one sample at
# a time, so only 8 of the 32 samples of a scored batch are scored (score_samples).
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
             rollout_interval=2, ppo_interval=4, score_samples=8),
        dict(name='joint', epochs=2, mode='sample', rollout_interval=10, ppo_interval=4,
             score_samples=8),
    ],
    ppo={{_base_.ppo}},
    val_interval=6)
test_evaluator = [
    {{_base_.test_evaluator}},
    dict(type='rlpkd.LevelSelectionMetric', level_names=('res2', 'res3', 'res4', 'res5')),
]
