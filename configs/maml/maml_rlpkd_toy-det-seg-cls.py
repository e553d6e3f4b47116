# Phase 4 of RL-PyramidKD on the CPU toy data: MAML of the level-selection policy across
# three distillation tasks (detection, segmentation, classification), each with its own
# teacher, student, data and RL selector: its RL-PyramidKD toy config. Every
# meta-iteration adapts the meta-policy on each task's support steps and takes one outer
# Adam step on the query steps (rlpkd.MetaTrainLoop). At the end the meta-policy is
# written to work_dir/meta_policy.pth; start any task's RL-PyramidKD from it with
#   --cfg-options model.selector.policy_init=work_dirs/maml_rlpkd_toy-det-seg-cls/meta_policy.pth
# The teachers are the toy teacher checkpoints the task configs name (train each
# teacher config with tools/train.py first; the demo keeps its own elsewhere); a task's
# cfg_options can name others (model.teacher_ckpt).
_base_ = ['../_base_/distillers/rlpkd.py']
custom_imports = dict(imports=['rlpkd'], allow_failed_imports=False)

# the meta-policy: the tasks' policy architecture (checked against each task at build)
model = dict(type='rlpkd.MetaPolicy', policy={{_base_.rl_selector.policy}}, num_levels=4)
# the outer (meta) optimiser of MAML; only `optimizer` is used (no gradient clipping)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4))
# mmengine requires a train_dataloader; every task brings its own
train_dataloader = dict()
train_cfg = dict(
    type='rlpkd.MetaTrainLoop',
    meta_iters=60,
    support_steps=2,  # distillation steps per task whose decisions form the support set
    query_steps=2,    # ... and the query set (after adaptation)
    # inner loop: K SGD steps of PPO's loss; second-order MAML (Finn et al. 2017)
    maml=dict(inner_lr=1e-3, num_inner_steps=5, first_order=False, clip_epsilon=0.2,
              value_coef=0.5, entropy_coef=0.01),
    tasks=[
        dict(name='det',
             config='rlpkd::faster_rcnn/rlpkd_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'),
        dict(name='seg',
             config='rlpkd::deeplabv3plus/rlpkd_deeplabv3plus_r18w32-r18w16-d8_toy-ade.py'),
        # the classification lookahead costs a student step per sample: score 8 of 32
        dict(name='cls', config='rlpkd::resnet/rlpkd_resnet18w32-resnet18w16_toy-folder.py',
             collect_samples=8),
    ],
    policy_file='meta_policy.pth')

custom_hooks = []  # the base's PolicyStatsHook logs PhaseTrainLoop learners
default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=1),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=20),
    sampler_seed=dict(type='DistSamplerSeedHook'))
log_processor = dict(by_epoch=False)
env_cfg = dict(cudnn_benchmark=False,
               mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
log_level = 'INFO'
load_from = None
resume = False
# toy runs are reproducible run to run (same seed for data order and init)
randomness = dict(seed=0)
