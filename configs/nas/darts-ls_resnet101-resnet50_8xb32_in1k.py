# DARTS-LS at full scale: ResNet-101 -> ResNet-50 on ImageNet-1k, 8 GPUs x 32 images (the
# teacher / student / data of kd-uniform_resnet101-resnet50_8xb32_in1k.py). As in DARTS
# (Liu et al. 2019), half of the training set is held out for the architecture steps and
# the weights train on the other half: 1 warm-up epoch of uniform KD, then 6 search
# epochs (weight step every iteration, architecture step on a held-out batch every 2nd).
# mmpretrain's lr steps (epochs 30, 60, 90) are not reached. The levels are the
# backbone's stages, so the virtual step of the hypergradient is a step of the student
# backbone. Retrain the found subset with darts-ls-retrain_resnet101-resnet50_8xb32_in1k.py
# (the whole training set, 100 epochs). Not run by us (no GPU cluster).
_base_ = [
    '../resnet/kd-uniform_resnet101-resnet50_8xb32_in1k.py',
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
        batch_size=32,
        num_workers=5,
        persistent_workers=True,
        sampler=dict(type='rlpkd.HeldOutSplitSampler', part='held_out', held_out=0.5,
                     split_seed=0),
        dataset={{_base_.train_dataloader.dataset}}),
    val_interval=7)
