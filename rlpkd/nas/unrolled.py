"""The unrolled (second-order) architecture hypergradient, and the pyramid module as a
function of its parameters.

DARTS (Liu et al., ICLR 2019) approximates the bilevel problem

    min_α L_val(w*(α)),   w*(α) = argmin_w L_train(w, α)

by one virtual step, ``w' = w − ξ ∇_w L_train(w, α)`` (eq. 6), and differentiates
``L_val(w', α)`` w.r.t. α (eq. 7)::

    ∇_α L_val(w', α) − ξ ∇²_{α,w} L_train(w, α) ∇_{w'} L_val(w', α)

In level selection α weights *distillation losses*: ``L_val`` (the student's task loss
on held-out images) does not depend on α, so the first term — the whole first-order
DARTS gradient — is exactly zero, and all the signal is in the second, unrolled term.
:func:`unrolled_hypergradient` computes it exactly by the chain rule::

    h = −ξ ∇_α ⟨∇_w L_train(w, α), v⟩,    v = ∇_{w'} L_val(w')  (held constant)

with the mixed second derivative from ``torch.func`` (reverse mode over a
forward-mode ``jvp``; no Hessian is formed) and ``v`` from plain autograd, so ``L_val``
may run any module (e.g. compiled mmcv RoI ops, which ``torch.func`` cannot transform).
:func:`finite_difference_hypergradient` is DARTS's eq. 8 approximation of the same term,
``∇²_{α,w} L_train · v ≈ (∇_α L_train(w⁺, α) − ∇_α L_train(w⁻, α)) / 2ε`` with
``w± = w ± ε v`` and ``ε = 0.01 / ‖v‖``; its error is O(ε²).

``L_train = arch_loss(w, α) + B(w)``: only ``arch_loss`` (here the α-weighted level
losses) must be differentiable by ``torch.func``; the α-independent rest ``B`` (the
student's task loss on the training batch) enters only through its gradient
``base_grads``, which moves the point ``w'`` where ``v`` is taken.

Unlike MMRazor's second-order DARTS (whose virtual weights are never updated), ``w'``
really is the stepped point: ``v`` is evaluated there.

The pyramid module as a function of its parameters (:class:`PyramidFunctional`) and
the virtual step are :mod:`rlpkd.pyramid.functional`, shared with the RL reward's
lookahead (:mod:`rlpkd.rl.reward`).
"""
from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple

import torch
from torch import Tensor
from torch.func import grad, jvp

from rlpkd.pyramid.functional import Params, autograd_grads, virtual_step

ArchLoss = Callable[[Params, Tensor], Tensor]
ValLoss = Callable[[Params], Tensor]


def add_grads(a: Params, b: Optional[Params]) -> Params:
    """``a + b`` per parameter (``b=None``: ``a``)."""
    return a if b is None else {k: v + b[k] for k, v in a.items()}


def stepped_val_gradient(arch_loss: ArchLoss, val_loss: ValLoss, params: Params,
                         arch: Tensor, lr: float,
                         base_grads: Optional[Params] = None) -> Tuple[Params, Dict]:
    """``v = ∇_{w'} L_val(w')`` at ``w' = w − ξ (∇_w arch_loss(w, α) + base_grads)``;
    returns ``(v, info)`` with ``info``: ``val_loss`` (at ``w'``), ``train_grads``."""
    arch = arch.detach()
    train_grads = add_grads(grad(arch_loss)(params, arch), base_grads)
    stepped = {k: v.detach() for k, v in virtual_step(params, train_grads, lr).items()}
    loss, direction = autograd_grads(val_loss, stepped)
    return direction, dict(val_loss=loss, train_grads=train_grads)


def mixed_derivative(arch_loss: ArchLoss, params: Params, arch: Tensor,
                     direction: Params) -> Tensor:
    """``∇_α ⟨∇_w arch_loss(w, α), v⟩`` (shape of ``arch``), exactly: the directional
    derivative along ``v`` is a forward-mode ``jvp``, differentiated in reverse mode."""
    def directional(a: Tensor) -> Tensor:
        return jvp(lambda p: arch_loss(p, a), (params,), (direction,))[1]
    return grad(directional)(arch.detach())


def unrolled_hypergradient(arch_loss: ArchLoss, val_loss: ValLoss, params: Params,
                           arch: Tensor, lr: float,
                           base_grads: Optional[Params] = None) -> Tuple[Tensor, Dict]:
    """Exact ``∇_α L_val(w − ξ ∇_w L_train(w, α))`` (module docstring; Liu et al. 2019,
    eq. 7 whose first term is zero here).

    Args:
        arch_loss: ``(w, α) -> scalar``, the α-dependent part of the training loss
            (``torch.func``-differentiable).
        val_loss: ``w -> scalar``, the validation loss (independent of α).
        params: ``w``, name -> tensor (detached).
        arch: ``α`` (any shape).
        lr: ``ξ``, the virtual step size.
        base_grads: gradient of the α-independent rest of the training loss at ``w``.

    Returns:
        ``(hypergradient (shape of α), info)``; ``info``: ``val_loss`` at ``w'``,
        ``direction`` (``v``).
    """
    direction, info = stepped_val_gradient(arch_loss, val_loss, params, arch, lr,
                                           base_grads)
    hyper = -lr * mixed_derivative(arch_loss, params, arch, direction)
    return hyper.detach(), dict(val_loss=info['val_loss'], direction=direction)


def finite_difference_hypergradient(arch_loss: ArchLoss, val_loss: ValLoss,
                                    params: Params, arch: Tensor, lr: float,
                                    base_grads: Optional[Params] = None,
                                    epsilon: float = 0.01) -> Tuple[Tensor, Dict]:
    """DARTS's eq. 8 approximation of :func:`unrolled_hypergradient`:
    ``−ξ (∇_α L_train(w⁺, α) − ∇_α L_train(w⁻, α)) / 2ε``, ``w± = w ± ε v``,
    ``ε = epsilon / ‖v‖`` (Liu et al. 2019, sec. 2.3; error O(ε²))."""
    direction, info = stepped_val_gradient(arch_loss, val_loss, params, arch, lr,
                                           base_grads)
    norm = torch.sqrt(sum(d.pow(2).sum() for d in direction.values()))
    eps = epsilon / norm.clamp(min=1e-12)
    arch_grad = grad(arch_loss, argnums=1)
    plus = arch_grad(virtual_step(params, direction, -eps), arch.detach())
    minus = arch_grad(virtual_step(params, direction, eps), arch.detach())
    hyper = -lr * (plus - minus) / (2 * eps)
    return hyper.detach(), dict(val_loss=info['val_loss'], direction=direction)
