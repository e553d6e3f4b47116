# RL-PyramidKD, DeepLabV3+ R101-D8 -> R50-D8 on ADE20K, 512x512 crops, 4 GPUs x 4 images:
# mmseg's 80k iterations (InfiniteSampler, PolyLR, checkpoints every 8k) split as the
# prototype split its 40 epochs: phase 1 warm-up 20k iterations (all levels), phase 2
# policy learning 40k, phase 3 joint fine-tuning 20k. The phases are those of
# ../_base_/schedules/rlpkd_phases.py, counted in iterations (iter_based=True:
# validation every 8k iterations, as mmseg's schedule). The pyramid is the student
# backbone's res2-res5, so the reward's virtual step is a step of the backbone; the
# student trains in phase 2 (freezing its backbone there is an option, see that file).
_base_ = [
    './kd-uniform_deeplabv3plus_r101-r50-d8_4xb4-80k_ade20k-512x512.py',
    '../_base_/schedules/rlpkd_phases.py',
]
model = dict(selector={{_base_.rl_selector}})
train_cfg = dict(
    _base_.rl_train_cfg,
    iter_based=True,
    phases=[dict(phase, iters=n)
            for phase, n in zip(_base_.rl_train_cfg.phases, (20000, 40000, 20000))],
    val_interval=8000)
test_evaluator = [
    {{_base_.test_evaluator}},
    dict(type='rlpkd.LevelSelectionMetric', level_names=('res2', 'res3', 'res4', 'res5')),
]
