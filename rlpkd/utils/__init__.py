"""Small helpers shared across the package: module modes and DDP reductions."""
from .dist import check_identical_over_ranks, mean_over_ranks, sum_over_ranks, world_size
from .modules import eval_mode, without_activation_checkpointing

__all__ = ['check_identical_over_ranks', 'eval_mode', 'mean_over_ranks', 'sum_over_ranks',
           'without_activation_checkpointing', 'world_size']
