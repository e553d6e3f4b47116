# DARTS-LS on the CPU toy segmentation data (levels res2-res5 of the dilated backbone):
# the toy teacher / student of kd-uniform_deeplabv3plus_r18w32-r18w16-d8_toy-ade.py;
# 4 warm-up epochs of uniform KD, then 8 search epochs (weight step every iteration,
# architecture step on a held-out batch of 8 images every 2nd iteration). A quarter of
# the training set is held out for the architecture steps; the weights train on the rest.
_base_ = [
    '../deeplabv3plus/kd-uniform_deeplabv3plus_r18w32-r18w16-d8_toy-ade.py',
    '../_base_/distillers/nas.py',
]
model = dict(selector={{_base_.darts_selector}})
train_dataloader = dict(sampler=dict(_delete_=True, type='rlpkd.HeldOutSplitSampler',
                                     part='train', held_out=0.25, split_seed=0))
train_cfg = dict(
    _delete_=True,
    type='rlpkd.ArchitectureSearchLoop',
    phases=[
        dict(name='warmup', epochs=4, mode='uniform'),
        dict(name='search', epochs=8, mode='search', learner='arch',
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
    val_interval=12)
