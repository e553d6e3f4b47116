# DARTS-LS at full scale: DeepLabV3+ R101-D8 -> R50-D8 on ADE20K, 512x512 crops, 4 GPUs x
# 4 images (the teacher / student / data of
# kd-uniform_deeplabv3plus_r101-r50-d8_4xb4-80k_ade20k-512x512.py). As in DARTS (Liu et
# al. 2019), half of the training set is held out for the architecture steps and the
# weights train on the other half: 4k warm-up iterations of uniform KD, then 20k search
# iterations (weight step every iteration, architecture step on a held-out batch every
# 2nd), counted in iterations as mmseg's schedule (iter_based=True). mmseg's PolyLR over
# 80k iterations is kept: the search ends at 24k. The levels are the backbone's stages,
# so the virtual step of the hypergradient is a step of the student backbone. Retrain
# the found subset with darts-ls-retrain_deeplabv3plus_r101-r50-d8_4xb4-80k_ade20k-512x512.py
# (the whole training set, 80k iterations). Not run by us (no GPU cluster).
_base_ = [
    '../deeplabv3plus/kd-uniform_deeplabv3plus_r101-r50-d8_4xb4-80k_ade20k-512x512.py',
    '../_base_/distillers/nas.py',
]
model = dict(selector={{_base_.darts_selector}})
train_dataloader = dict(sampler=dict(_delete_=True, type='rlpkd.HeldOutSplitSampler',
                                     part='train', held_out=0.5, split_seed=0))
train_cfg = dict(
    _delete_=True,
    type='rlpkd.ArchitectureSearchLoop',
    iter_based=True,
    phases=[
        dict(name='warmup', iters=4000, mode='uniform'),
        dict(name='search', iters=20000, mode='search', learner='arch',
             collect_interval=2, update_interval=2),
    ],
    learners=dict(arch={{_base_.arch_learner}}),
    arch_dataloader=dict(
        batch_size=4,
        num_workers=4,
        persistent_workers=True,
        sampler=dict(type='rlpkd.HeldOutSplitSampler', part='held_out', held_out=0.5,
                     split_seed=0),
        dataset={{_base_.train_dataloader.dataset}}),
    val_interval=24000)
