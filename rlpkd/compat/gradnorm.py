"""The prototype's GradNorm API (``utils.gradnorm``), as thin façades over
:class:`rlpkd.models.balancers.GradNormBalancer` (the one GradNorm of rlpkd)::

    gradnorm = GradNorm(num_tasks=4, alpha=1.5)
    trainer = GradNormTrainer(student, gradnorm, lr_model=1e-4, lr_weights=1e-2)
    total_loss, gradnorm_loss, weights = trainer.train_step(losses, student.backbone)

Inside mmengine training use ``model.balancer=dict(type='rlpkd.GradNormBalancer')``
of the distiller instead; these classes are for scripts written against the prototype.
"""
from __future__ import annotations

from typing import Iterable, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from rlpkd.models.balancers.gradnorm import GradNormBalancer, module_weight

SharedParams = Union[nn.Module, nn.Parameter, Iterable[nn.Parameter]]


class GradNorm(GradNormBalancer):
    """GradNorm weights of ``num_tasks`` losses (Chen et al., ICML 2018, Algorithm 1).

    Args:
        num_tasks: number of losses (the pyramid levels).
        alpha: restoring force towards equal training rates.
        lr: SGD step size on the weights (``GradNormTrainer``'s ``lr_weights`` sets it).
        min_weight: floor of each weight before the renormalisation to sum ``num_tasks``.
    """

    def __init__(self, num_tasks: int = 4, alpha: float = 1.5, lr: float = 1e-2,
                 min_weight: float = 1e-3) -> None:
        super().__init__(alpha=alpha, lr=lr, min_weight=min_weight)
        if num_tasks < 1:
            raise ValueError(f'num_tasks must be >= 1, got {num_tasks}')
        self.bind([f'task{i}' for i in range(num_tasks)])

    @property
    def num_tasks(self) -> int:
        return len(self.level_names)


def shared_weight(shared_params: SharedParams) -> nn.Parameter:
    """The tensor ``W`` whose gradient norms GradNorm balances.

    A parameter is used as it is; a module gives its own ``weight`` or the weight of its
    last conv / linear layer outside ``downsample`` (as ``model.balancer.shared_param``);
    an iterable of parameters (the prototype passes ``student.backbone.parameters()``)
    gives its last trainable parameter with at least 2 dimensions (a conv / linear
    weight: for a ResNet backbone, the last conv of its last stage).
    """
    if isinstance(shared_params, nn.Parameter):
        return shared_params
    if isinstance(shared_params, nn.Module):
        return module_weight(shared_params, type(shared_params).__name__)[1]
    weights = [p for p in shared_params if p.requires_grad and p.dim() >= 2]
    if not weights:
        raise ValueError('shared_params has no trainable parameter with >= 2 dimensions '
                         '(a conv or linear weight) to measure gradient norms on')
    return weights[-1]


class GradNormTrainer:
    """One optimiser step of ``model`` on GradNorm-weighted losses per ``train_step``.

    Args:
        model: the network the losses train (its trainable parameters, Adam).
        gradnorm: the :class:`GradNorm` weights.
        lr_model: Adam learning rate of ``model``.
        lr_weights: SGD step size of the GradNorm weights (sets ``gradnorm.lr``).
    """

    def __init__(self, model: nn.Module, gradnorm: GradNorm, lr_model: float = 1e-4,
                 lr_weights: float = 1e-2) -> None:
        self.model = model
        self.gradnorm = gradnorm
        gradnorm.lr = float(lr_weights)
        self.optimizer = torch.optim.Adam(
            [p for p in model.parameters() if p.requires_grad], lr=lr_model)

    def train_step(self, losses: Sequence[Optional[Tensor]], shared_params: SharedParams
                   ) -> Tuple[Tensor, Tensor, Tensor]:
        """Weigh, step the GradNorm weights, step the model.

        Args:
            losses: ``num_tasks`` scalar losses in the graph of ``W``; ``None`` marks a
                task without a loss in this batch (e.g. a level the policy skipped): it
                keeps its weight and takes no part in the step.
            shared_params: where ``W`` is (:func:`shared_weight`).

        Returns:
            ``(total_loss, gradnorm_loss, weights)``: ``Σ w_i L_i`` with the weights used
            (detached scalar), GradNorm's ``L_grad`` at those weights, and the weights
            ``[num_tasks]`` after the step (sum ``num_tasks``).
        """
        if len(losses) != self.gradnorm.num_tasks:
            raise ValueError(f'{len(losses)} losses for GradNorm(num_tasks='
                             f'{self.gradnorm.num_tasks}); pass None for a task without one')
        weight = shared_weight(shared_params)
        present = [loss is not None for loss in losses]
        if not any(present):
            raise ValueError('every loss is None: nothing to train')
        filled: List[Tensor] = [loss if loss is not None else weight.new_zeros(())
                                for loss in losses]
        self.gradnorm.train()
        used = self.gradnorm(filled, torch.tensor(present, dtype=torch.float32), weight)
        total = sum(w * loss for w, loss, p in zip(used, filled, present) if p)
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.optimizer.step()
        return total.detach(), self.gradnorm.last_loss.detach(), \
            self.gradnorm.weights.detach().clone()
