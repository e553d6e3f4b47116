# DARTS-LS at full scale: Mask R-CNN R101-FPN -> R50-FPN on COCO 2017 instance
# segmentation, 8 GPUs x 2 images (the teacher / student / data of
# kd-uniform_mask-rcnn_r101-r50_fpn_1x_coco.py); the search of the Faster R-CNN
# DARTS-LS config: half of train2017 held out for the architecture steps, the weights
# trained on the other half, 1 warm-up epoch of uniform KD, then 6 search epochs (weight
# step every iteration, architecture step on a held-out batch every 2nd; the held-out
# task loss includes the mask loss). The 1x schedule's lr steps (epochs 8, 11) are not
# reached. Retrain the found subset with
# darts-ls-retrain_mask-rcnn_r101-r50_fpn_1x_coco.py (the whole training set, 1x).
# Not run by us (no GPU cluster).
_base_ = [
    '../mask_rcnn/kd-uniform_mask-rcnn_r101-r50_fpn_1x_coco.py',
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
