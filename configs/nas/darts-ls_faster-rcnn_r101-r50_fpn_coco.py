# DARTS-LS at full scale: Faster R-CNN R101-FPN -> R50-FPN on COCO 2017, 8 GPUs x 2
# images (the teacher / student / data of kd-uniform_faster-rcnn_r101-r50_fpn_1x_coco.py).
# As in DARTS (Liu et al. 2019), half of train2017 is held out for the architecture
# steps and the weights train on the other half: 1 warm-up epoch of uniform KD, then 6
# search epochs (weight step every iteration, architecture step on a held-out batch
# every 2nd). The 1x schedule's lr steps (epochs 8, 11) are not reached: the search runs
# at the base lr after the warm-up ramp. Retrain the found subset with
# darts-ls-retrain_faster-rcnn_r101-r50_fpn_1x_coco.py (the whole training set, 1x).
# Not run by us (no GPU cluster); its toy counterpart is
# darts-ls_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py.
_base_ = [
    '../faster_rcnn/kd-uniform_faster-rcnn_r101-r50_fpn_1x_coco.py',
    '../_base_/distillers/nas.py',
]
model = dict(selector={{_base_.darts_selector}})
train_dataloader = dict(sampler=dict(_delete_=True, type='rlpkd.HeldOutSplitSampler',
                                     part='train', held_out=0.5, split_seed=0))
train_cfg = dict(
    _delete_=True,
    type='rlpkd.ArchitectureSearchLoop',
    phases=[
        dict(name='warmup', epochs=1, mode='uniform'),
        dict(name='search', epochs=6, mode='search', learner='arch',
             collect_interval=2, update_interval=2),
    ],
    learners=dict(arch={{_base_.arch_learner}}),
    arch_dataloader=dict(
        batch_size=2,
        num_workers=2,
        persistent_workers=True,
        sampler=dict(type='rlpkd.HeldOutSplitSampler', part='held_out', held_out=0.5,
                     split_seed=0),
        dataset={{_base_.train_dataloader.dataset}}),
    val_interval=7)
