"""The pyramid module as a function of its parameters: the shared virtual-step machinery.

The RL reward's lookahead (:mod:`rlpkd.rl.reward`) and the NAS baselines' unrolled
hypergradient (:mod:`rlpkd.nas.unrolled`) both run the module that produces the student
pyramid (e.g. the FPN neck) with substituted parameters ``w`` — for its level losses and
for the whole student's task loss — and take virtual SGD steps ``w − η g`` on detached
copies, never modifying the student. :class:`PyramidFunctional` is that module;
:func:`virtual_step` and :func:`autograd_grads` are the two operations on ``w``.
"""
from __future__ import annotations

from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, Iterator, List, Optional, Tuple

import torch
from torch import Tensor, nn
from torch.func import functional_call

from rlpkd.utils import eval_mode, without_activation_checkpointing

if TYPE_CHECKING:
    from rlpkd.pyramid.pair import PyramidPair

Params = Dict[str, Tensor]


def virtual_step(params: Params, grads: Params, lr: float | Tensor) -> Params:
    """``w' = w − ξ g`` (Liu et al. 2019, eq. 6), parameter by parameter."""
    return {k: v - lr * grads[k] for k, v in params.items()}


def autograd_grads(loss_fn: Callable[[Params], Tensor], params: Params) -> Tuple[Tensor, Params]:
    """``(loss, ∇ loss)`` at ``params`` with plain autograd (any module)."""
    leaves = {k: v.detach().requires_grad_(True) for k, v in params.items()}
    with torch.enable_grad():
        loss = loss_fn(leaves)
        grads = torch.autograd.grad(loss, list(leaves.values()), allow_unused=True)
    return loss.detach(), {k: torch.zeros_like(v) if g is None else g
                           for (k, v), g in zip(leaves.items(), grads)}


@dataclass
class TaskInputs:
    """What re-running the student's task loss needs: ``images`` ``[B, C, H, W]``
    (preprocessed) and their ``data_samples`` (ground truth)."""

    images: Tensor
    data_samples: list

    def sample(self, i: int) -> 'TaskInputs':
        return TaskInputs(self.images[i:i + 1].float(), [self.data_samples[i]])

    def head(self, k: int) -> 'TaskInputs':
        return TaskInputs(self.images[:k].detach(), list(self.data_samples[:k]))


def total_loss(losses: Dict[str, object]) -> Tensor:
    """Sum of the loss terms of a model's loss dict (keys with ``loss``; a value may be a
    list of tensors), as mmengine's ``parse_losses`` sums them."""
    terms = []
    for key, value in losses.items():
        if 'loss' in key:
            terms += [v.sum() for v in (value if isinstance(value, (list, tuple)) else [value])]
    return torch.stack(terms).sum()


class PyramidFunctional:
    """The module that produces the student pyramid (``model.pyramid.student.module``,
    e.g. the FPN neck) as a function of its parameters ``w``.

    Args:
        pair: the matched pyramids; its student pyramid must be the output of one module.
        key: config key named when it is not.
        user: who needs it, for that error (e.g. ``'the RL reward'``).
    """

    def __init__(self, pair: 'PyramidPair', key: str = 'model.pyramid.student.module',
                 user: str = 'the virtual step') -> None:
        name = pair.student_tap.module_name
        if name is None:
            raise ValueError(f'{user} needs the student pyramid to come from one module '
                             f'({key}), got '
                             f'{sorted({n for n, _ in pair.student_tap.sources})}')
        self.pair = pair
        self.module_name = name
        self.module = pair.student_module(name, key)
        self.indices = pair.student_tap.indices

    def params(self) -> Params:
        """``w``: the module's parameters, detached (float32)."""
        return {k: v.detach().float() for k, v in self.module.named_parameters()}

    @contextmanager
    def context(self) -> Iterator[None]:
        """Eval mode for the module and the connectors (no running-statistic updates, and
        per-sample results independent of the batch), gradients on, no activation
        checkpointing (``torch.func`` cannot run it), autocast off."""
        with ExitStack() as stack:
            stack.enter_context(eval_mode(self.pair.connectors, self.module))
            stack.enter_context(torch.enable_grad())
            stack.enter_context(without_activation_checkpointing(self.module))
            device = next(self.module.parameters()).device
            stack.enter_context(torch.autocast(device.type, enabled=False))
            yield

    def level_losses(self, params: Params, args: tuple,
                     teacher_feats: List[Tensor]) -> Tensor:
        """``[B, L]`` level losses of the module run with ``params`` on its caught
        positional inputs ``args`` (batched), against the teacher levels."""
        return torch.stack([
            self.pair.level_pair_loss(name, s, t) for name, s, t in
            zip(self.pair.level_names, self.levels(params, args), teacher_feats)], dim=1)

    def levels(self, params: Params, args: tuple) -> List[Tensor]:
        """The L student levels ``[B, C_l, H_l, W_l]`` of the module run with ``params``
        on its caught positional inputs ``args``."""
        outs = functional_call(self.module, params, args, strict=False)
        return [outs if i is None else outs[i] for i in self.indices]

    def task_loss(self, params: Params, task: 'TaskInputs', seed: int = 0) -> Tensor:
        """The student's task loss on ``task`` (:func:`fixed_seed_task_loss`) with the
        module's parameters replaced by ``params``, as the RL reward's task signal."""
        named = {f'{self.module_name}.{k}': v for k, v in params.items()}
        return fixed_seed_task_loss(
            self.pair.student, task, seed,
            lambda: functional_call(self.pair.student, named, (task.images,),
                                    dict(data_samples=task.data_samples, mode='loss'),
                                    strict=False))


def fixed_seed_task_loss(student: nn.Module, task: 'TaskInputs', seed: int = 0,
                         losses: Optional[Callable[[], dict]] = None) -> Tensor:
    """The sum of ``student``'s loss terms on ``task``'s images: eval mode, at a fixed
    seed (the same proposal / RoI sampling at every call), the global random state left
    untouched. ``losses`` computes the loss dict (default ``student.loss``)."""
    device = task.images.device
    with eval_mode(student), \
            torch.random.fork_rng(devices=[device] if device.type == 'cuda' else []):
        torch.manual_seed(seed)
        out = losses() if losses is not None else \
            student.loss(task.images, task.data_samples)
    return total_loss(out)
