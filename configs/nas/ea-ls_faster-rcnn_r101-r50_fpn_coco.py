# EA-LS at full scale: the DARTS-LS search's models, data and held-out half (scored
# without random flips); 1 warm-up epoch of uniform KD, then 64 candidates (the first 8
# random) of 500 proxy iterations each, every one trained from the warm-up state and
# scored on 200 held-out batches (3200 images on 8 GPUs x 2). Not run by us.
_base_ = './darts-ls_faster-rcnn_r101-r50_fpn_coco.py'
model = dict(selector={{_base_.evolution_selector}})
train_cfg = dict(
    type='rlpkd.EvolutionSearchLoop',
    phases=[
        dict(name='warmup', epochs=1, mode='uniform'),
        dict(name='search', iters=64 * 500, mode='search', learner='ea', update_interval=1),
    ],
    learners=dict(_delete_=True, ea={{_base_.evolution_learner}}),
    proxy_iters=500,
    fitness_batches=200,
    # the training pipeline without its random flip: mmdet's test pipeline loads the
    # boxes after resizing the image, which suits evaluation, not a loss
    arch_dataloader=dict(dataset=dict(pipeline=[
        step for step in _base_.train_pipeline if step.type != 'RandomFlip'])),
    val_interval=100000)
