# DARTS-LS on the CPU toy classification data (levels res2-res5): the toy teacher /
# student of kd-uniform_resnet18w32-resnet18w16_toy-folder.py; 2 warm-up epochs of
# uniform KD, then 4 search epochs (weight step every iteration, architecture step on a
# held-out batch of 8 images every 2nd iteration). A quarter of the training set is held
# out for the architecture steps; the weights train on the rest.
_base_ = [
    '../resnet/kd-uniform_resnet18w32-resnet18w16_toy-folder.py',
    '../_base_/distillers/nas.py',
]
model = dict(selector={{_base_.darts_selector}})
train_dataloader = dict(sampler=dict(_delete_=True, type='rlpkd.HeldOutSplitSampler',
                                     part='train', held_out=0.25, split_seed=0))
train_cfg = dict(
    _delete_=True,
    type='rlpkd.ArchitectureSearchLoop',
    phases=[
        dict(name='warmup', epochs=2, mode='uniform'),
        dict(name='search', epochs=4, mode='search', learner='arch',
             collect_interval=2, update_interval=2),
    ],
    learners=dict(arch={{_base_.arch_learner}}),
    arch_dataloader=dict(
        batch_size=8,
        num_workers=1,
        persistent_workers=True,
        sampler=dict(type='rlpkd.HeldOutSplitSampler', part='held_out', held_out=0.25,
                     split_seed=0),
        dataset={{_base_.train_dataloader.dataset}}),
    val_interval=6)
