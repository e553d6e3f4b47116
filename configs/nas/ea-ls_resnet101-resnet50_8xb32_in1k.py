# EA-LS at full scale, ResNet-101 -> ResNet-50 on ImageNet-1k: the DARTS-LS search's
# models, data and held-out half (scored through mmpretrain's test pipeline: resize and
# centre crop, no random crop or flip); 1 warm-up epoch of uniform KD, then 64
# candidates (the first 8 random) of 500 proxy iterations each, every one trained from
# the warm-up state and scored on 12 held-out batches (3072 images on 8 GPUs x 32).
# Not run by us.
_base_ = './darts-ls_resnet101-resnet50_8xb32_in1k.py'
model = dict(selector={{_base_.evolution_selector}})
train_cfg = dict(
    type='rlpkd.EvolutionSearchLoop',
    phases=[
        dict(name='warmup', epochs=1, mode='uniform'),
        dict(name='search', iters=64 * 500, mode='search', learner='ea', update_interval=1),
    ],
    learners=dict(_delete_=True, ea={{_base_.evolution_learner}}),
    proxy_iters=500,
    fitness_batches=12,
    arch_dataloader=dict(dataset=dict(pipeline={{_base_.test_pipeline}})),
    val_interval=100000)
