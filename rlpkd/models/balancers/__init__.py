"""Balancers: learned weights of the per-level distillation losses."""
from .gradnorm import GradNormBalancer, gradnorm_loss, gradnorm_step

__all__ = ['GradNormBalancer', 'gradnorm_loss', 'gradnorm_step']
