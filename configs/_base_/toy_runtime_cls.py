# mmpretrain's runtime for the toy runs: log more often, keep the last checkpoint.
_base_ = 'mmpretrain::_base_/default_runtime.py'
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=6))
# Toy runs are reproducible run to run (same seed for data order and init).
randomness = dict(seed=0)
