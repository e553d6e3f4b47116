# EA-LS at full scale, DeepLabV3+ R101-D8 -> R50-D8 on ADE20K: the DARTS-LS search's
# models, data and held-out half, counted in iterations; 4k warm-up iterations of
# uniform KD, then 64 candidates (the first 8 random) of 500 proxy iterations each, every
# one trained from the warm-up state and scored on 400 held-out images per GPU (3200 on
# 8 GPUs), whole images through mmseg's test pipeline (no random crop or flip), one per
# batch as mmseg validates. Not run by us.
_base_ = './darts-ls_deeplabv3plus_r101-r50-d8_4xb4_ade20k-512x512.py'
model = dict(selector={{_base_.evolution_selector}})
train_cfg = dict(
    type='rlpkd.EvolutionSearchLoop',
    phases=[
        dict(name='warmup', iters=4000, mode='uniform'),
        dict(name='search', iters=64 * 500, mode='search', learner='ea', update_interval=1),
    ],
    learners=dict(_delete_=True, ea={{_base_.evolution_learner}}),
    proxy_iters=500,
    fitness_batches=400,
    arch_dataloader=dict(batch_size=1, dataset=dict(pipeline={{_base_.test_pipeline}})),
    val_interval=100000)
