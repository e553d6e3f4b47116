# mmseg's runtime for the epoch-based toy runs: mmseg keeps its hooks in the
# (iteration-based) schedules, so the toy ones are spelled out here.
_base_ = 'mmseg::_base_/default_runtime.py'
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=12),
    sampler_seed=dict(type='DistSamplerSeedHook'))
log_processor = dict(by_epoch=True)
# Toy runs are reproducible run to run (same seed for data order and init).
randomness = dict(seed=0)
