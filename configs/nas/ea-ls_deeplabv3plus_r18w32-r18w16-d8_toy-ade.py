# EA-LS on the CPU toy segmentation data: the DARTS-LS toy search's models, data and
# held-out split (scored without random flips); 4 warm-up epochs of uniform KD, then 32
# candidates (the first 8 random) of 10 proxy iterations each, every one trained from
# the warm-up state and scored on the whole held-out split.
_base_ = './darts-ls_deeplabv3plus_r18w32-r18w16-d8_toy-ade.py'
model = dict(selector={{_base_.evolution_selector}})
train_cfg = dict(
    type='rlpkd.EvolutionSearchLoop',
    phases=[
        dict(name='warmup', epochs=4, mode='uniform'),
        dict(name='search', iters=32 * 10, mode='search', learner='ea', update_interval=1),
    ],
    learners=dict(_delete_=True, ea={{_base_.evolution_learner}}),
    proxy_iters=10,
    fitness_batches=None,  # all held-out batches
    arch_dataloader=dict(dataset=dict(pipeline={{_base_.test_pipeline}})),
    val_interval=100)
