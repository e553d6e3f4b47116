"""GradNorm (Chen et al., ICML 2018, Algorithm 1): learned weights of the level losses.

The math is two pure functions, :func:`gradnorm_loss` and :func:`gradnorm_step`; the
:class:`GradNormBalancer` module holds the state (buffers), measures the per-level
gradient norms on the shared weight ``W`` and keeps the ranks of a DDP job in step.

One step, for the levels ``A`` that have a loss in this batch::

    g_l   = ‖∇_W L_l‖₂                      (one autograd.grad per level, no second order)
    G_l   = w_l · g_l                       (= ‖∇_W (w_l · L_l)‖₂ since w_l > 0)
    r_l   = L̃_l / mean_A L̃,   L̃_l = L_l(t) / L_l(0)
    L_grad = Σ_A | G_l − const(mean_A G · r_l^α) |
    w_A  ← w_A − lr · ∂L_grad/∂w_A,  clamp ≥ min_weight,  rescale so that Σ_l w_l = L

Because ``G_l`` is linear in ``w_l`` with a detached slope ``g_l``, ``L_grad`` is a
function of ``w`` alone: its gradient cannot reach the network, and no
``create_graph=True`` (double backward) is needed.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from rlpkd.registry import MODELS
from rlpkd.utils import sum_over_ranks, world_size

DEFAULT_SHARED = 'student.backbone.layer1'
KEY = '`model.balancer.shared_param`'


# ---------------------------------------------------------------- pure functions


def gradnorm_loss(weights: Tensor, grad_norms: Tensor, losses: Tensor,
                  initial_losses: Tensor, alpha: float = 1.5) -> Tensor:
    """``L_grad = Σ_i |w_i g_i − const(Ḡ r_i^α)|`` over the tasks given (all of them).

    Args:
        weights: ``[T]`` task weights ``w`` (> 0); the result is differentiable in them.
        grad_norms: ``[T]`` ``g_i = ‖∇_W L_i‖₂`` of the *unweighted* losses (detached).
        losses: ``[T]`` current losses ``L_i(t)``.
        initial_losses: ``[T]`` losses ``L_i(0)`` of the first step.
        alpha: strength of the restoring force towards equal training rates.
    """
    norms = weights * grad_norms.detach()                      # G_i
    ratios = losses.detach() / initial_losses.detach().clamp_min(1e-12)
    rates = ratios / ratios.mean()                             # r_i
    target = (norms.mean() * rates.pow(alpha)).detach()        # const(Ḡ · r_i^α)
    return (norms - target).abs().sum()


def gradnorm_step(weights: Tensor, grad_norms: Tensor, losses: Tensor,
                  initial_losses: Tensor, alpha: float = 1.5, lr: float = 1e-2,
                  active: Optional[Tensor] = None, min_weight: float = 1e-3) -> Tensor:
    """One plain-SGD GradNorm update of ``weights``; returns the new weights ``[T]``.

    Only the ``active`` tasks (default: all) take part: ``Ḡ``, the mean loss ratio and
    ``L_grad`` are over them, and they are rescaled to the mass they had, so inactive
    weights are unchanged and ``Σ w = T`` holds (``T = len(weights)``) whenever it held
    before. Updated weights are clamped to ``min_weight`` before the rescaling.

    Args:
        weights, grad_norms, losses, initial_losses, alpha: see :func:`gradnorm_loss`.
        lr: SGD step size on ``w``.
        active: ``[T]`` bool, the tasks with a loss (and a gradient norm) in this step.
        min_weight: floor that keeps every weight positive.
    """
    weights = weights.detach()
    if active is None:
        active = torch.ones_like(weights, dtype=torch.bool)
    new = weights.clone()
    if not bool(active.any()):
        return new
    with torch.enable_grad():
        w = weights[active].clone().requires_grad_(True)
        loss = gradnorm_loss(w, grad_norms[active], losses[active], initial_losses[active],
                             alpha)
        (grad,) = torch.autograd.grad(loss, w)
    stepped = (w.detach() - lr * grad).clamp_min(min_weight)
    mass = len(weights) - weights[~active].sum()               # what the active ones share
    new[active] = stepped * (mass / stepped.sum())
    return new


# ---------------------------------------------------------------- module


@MODELS.register_module()
class GradNormBalancer(BaseModule):
    """GradNorm weights of the pyramid's level losses (used by ``PyramidDistiller``).

    The distiller calls :meth:`bind` at build time and, every iteration, ::

        weights = balancer(level_losses, coverage, shared_weight)   # [L], detached
        loss_distill = distill_weight · mean_l(weights_l · per_level_l)

    ``level_losses`` are the L scalar level losses as *separate* graphs (a list, not
    a slice of one stacked tensor): then the backward of level ``l``'s gradient norm
    runs through level ``l``'s branch only, and a ``W`` that some level does not
    depend on is detected (its gradient is ``None`` rather than zeros).

    In training mode each call also does one GradNorm step (module docstring) on the
    levels that some sample selected (``coverage > 0``); the others keep their weight.
    No step is done outside training, under ``torch.no_grad()``, or while ``W`` is
    frozen after the build (e.g. a phase that freezes the student backbone): the
    weights are then held. A ``W`` frozen at build time is an error.
    It returns the weights *used* for this batch's loss (those before the step) and
    logs nothing itself: the distiller adds ``gradnorm_w_<level>`` to its outputs.

    Details:

    - **State** (buffers, so the runner's optimiser never sees them and checkpoints
      keep them): ``weights`` ``[L]`` (init 1), ``initial_losses`` ``[L]`` (``L_l(0)``,
      taken the first time level ``l`` has a loss) and ``initialized`` ``[L]`` bool.
    - **Loss used for the rates**: the mean over the selected samples,
      ``per_level / coverage`` (equal to ``per_level`` for a full mask), so a level's
      training rate does not move with the fraction of samples a selector keeps.
      Constant factors such as ``distill_weight`` are not part of ``L_l``.
    - **Absent levels**: a step involves only the levels present in the batch; it is
      the paper's step on that subset (their mass is kept, see :func:`gradnorm_step`).
      Comparing their rates with stale losses of absent levels would only add a
      common factor to all ``r_l``, which the step turns into an artefact.
    - **DDP**: when ``torch.distributed`` is initialised with more than one rank,
      ``g_l`` (per-rank norms), the losses and the presence counts are averaged over
      the ranks that have the level (one ``all_reduce`` per step, on every rank), so
      ``w`` stays identical everywhere.
    - **Cost**: one extra backward from each present level loss down to ``W``
      (``retain_graph=True``); a later ``W`` (closer to the neck) is cheaper. Layers
      between ``W`` and the losses must not use reentrant checkpointing (``with_cp``).

    Args:
        alpha: GradNorm's ``α`` (restoring force towards equal training rates).
        lr: SGD step size on ``w``.
        shared_param: the weight ``W`` that every level loss depends on, named relative
            to the distiller: a parameter (``'student.backbone.layer1.1.conv2.weight'``),
            a module with a ``weight`` (``'student.backbone.layer1.1.conv2'``), or any
            other module, whose last conv / linear layer outside ``downsample`` is used
            (``'student.backbone.layer1'`` → the last conv of layer1's last block:
            ``conv2`` of a ResNet BasicBlock, ``conv3`` of a Bottleneck). Default
            ``None`` = ``'student.backbone.layer1'``: with an FPN every level depends on
            the first stage. mmdet's ResNet freezes layer1 by default
            (``frozen_stages=1``); then set ``frozen_stages=0`` (or ``-1``) in the
            student, or name a later stage (``'student.backbone.layer2'``; the FPN's
            top-down path makes every backbone stage shared by all levels).
        min_weight: floor of each weight before the renormalisation.
        init_cfg: mmengine initialisation config (unused; nothing to initialise).
    """

    def __init__(self, alpha: float = 1.5, lr: float = 1e-2,
                 shared_param: Optional[str] = None, min_weight: float = 1e-3,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if lr <= 0 or min_weight <= 0:
            raise ValueError('`model.balancer.lr` and `model.balancer.min_weight` must be > 0')
        self.alpha = float(alpha)
        self.lr = float(lr)
        self.shared_param = shared_param
        self.min_weight = float(min_weight)
        self.param_name: Optional[str] = None
        self.level_names: Tuple[str, ...] = ()

    # ------------------------------------------------------------------ build
    def bind(self, level_names: Sequence[str], model: Optional[nn.Module] = None) -> None:
        """Create the state for ``level_names``; resolve and check ``shared_param``.

        ``model`` is the module ``shared_param`` is named in (the distiller). Without it
        (stand-alone use) the caller passes ``W`` to :meth:`forward` directly.
        """
        self.level_names = tuple(level_names)
        num = len(self.level_names)
        self.register_buffer('weights', torch.ones(num))
        self.register_buffer('initial_losses', torch.zeros(num))
        self.register_buffer('initialized', torch.zeros(num, dtype=torch.bool))
        if model is not None:
            self.param_name, param = resolve_shared_param(model, self.shared_param)
            check_trainable(self.param_name, param)

    # ---------------------------------------------------------------- forward
    def forward(self, losses: Sequence[Tensor], coverage: Tensor, shared: Tensor) -> Tensor:
        """Return the weights ``[L]`` for this batch; step on them when training.

        Args:
            losses: L scalar level losses in the graph of ``shared`` (a list of
                separate graphs; a ``[L]`` tensor also works, see the class docstring).
            coverage: ``[L]`` fraction of the batch that selected each level
                (``mask.mean(0)``); 0 marks an absent level.
            shared: the weight ``W`` (the distiller passes the resolved ``shared_param``).
        """
        used = self.weights.detach().clone()
        # the same decision on every rank (not data-dependent): step() all-reduces
        if self.training and torch.is_grad_enabled() and shared.requires_grad:
            present = coverage.detach() != 0
            norms = self.grad_norms(losses, present, shared)
            values = torch.stack([loss.detach().float() for loss in losses])
            level_means = values / coverage.detach().float().where(
                present, torch.ones_like(values))
            self.step(norms, level_means, present)
        return used

    def grad_norms(self, losses: Sequence[Tensor], present: Tensor, shared: Tensor) -> Tensor:
        """``g_l = ‖∇_W L_l‖₂`` for the present levels (0 elsewhere); the graph is kept."""
        name = self.param_name or 'W'
        norms = torch.zeros(len(self.level_names), device=shared.device)
        missing = []
        for level in present.nonzero().flatten().tolist():
            if not losses[level].requires_grad:
                missing.append(self.level_names[level])
                continue
            (grad,) = torch.autograd.grad(losses[level], shared, retain_graph=True,
                                          allow_unused=True)
            if grad is None:
                missing.append(self.level_names[level])
            else:
                norms[level] = grad.detach().float().norm()
        if missing:
            raise ValueError(
                f'{KEY}: {name} gets no gradient from the loss of level(s) {missing}; '
                'GradNorm needs a weight that every level loss depends on (for an FPN '
                "student a backbone stage, e.g. 'student.backbone.layer1')")
        return norms

    @torch.no_grad()
    def step(self, grad_norms: Tensor, losses: Tensor, present: Tensor) -> None:
        """Average over ranks, record ``L_l(0)`` of new levels, update ``weights``."""
        grad_norms, losses, present = _average_over_ranks(grad_norms, losses, present)
        first = present & ~self.initialized
        self.initial_losses[first] = losses[first].to(self.initial_losses.dtype)
        self.initialized |= present
        self.last_loss = torch.zeros(())  # L_grad before this step (0 without a level)
        if present.any():
            self.last_loss = gradnorm_loss(self.weights.float()[present], grad_norms[present],
                                           losses[present], self.initial_losses.float()[present],
                                           self.alpha)
        new = gradnorm_step(self.weights.float(), grad_norms, losses,
                            self.initial_losses.float(), self.alpha, self.lr,
                            active=present, min_weight=self.min_weight)
        self.weights.copy_(new)

    def log_vars(self, weights: Tensor) -> Dict[str, Tensor]:
        """``{'gradnorm_w_P2': w_P2, ...}`` (no 'loss' in the keys: logged, not summed)."""
        return {f'gradnorm_w_{name}': w for name, w in zip(self.level_names, weights)}

    def extra_repr(self) -> str:
        return (f'alpha={self.alpha}, lr={self.lr}, min_weight={self.min_weight}, '
                f'shared_param={self.param_name or self.shared_param!r}')


# ---------------------------------------------------------------- helpers


def resolve_shared_param(model: nn.Module, name: Optional[str]) -> Tuple[str, nn.Parameter]:
    """Resolve ``shared_param`` (see :class:`GradNormBalancer`) to ``(name, parameter)``."""
    given = name
    name = name or DEFAULT_SHARED
    try:
        return name, model.get_parameter(name)
    except AttributeError:
        pass
    try:
        module = model.get_submodule(name)
    except AttributeError:
        what = (f'is not set and the default {name!r} does not exist in this model'
                if given is None else
                f'{name!r} is neither a parameter nor a module of the distiller')
        raise KeyError(f"{KEY} {what}; name a module or parameter relative to the "
                       "distiller that every level loss depends on, e.g. "
                       "'student.backbone.layer1'") from None
    sub, weight = module_weight(module, name)
    return f'{name}.{sub}', weight


def module_weight(module: nn.Module, name: str = 'module') -> Tuple[str, nn.Parameter]:
    """``(name relative to module, W)``: the module's own ``weight``, else the weight of its
    last conv / linear layer outside ``downsample`` (see :class:`GradNormBalancer`)."""
    if isinstance(getattr(module, 'weight', None), nn.Parameter):
        return 'weight', module.weight
    layers = [(sub, m) for sub, m in module.named_modules()
              if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear))
              and 'downsample' not in sub.split('.')]
    if not layers:
        raise KeyError(f'{KEY}: module {name!r} has no weight and no conv / linear layer')
    sub, layer = layers[-1]
    return f'{sub}.weight', layer.weight


def check_trainable(name: str, param: Tensor) -> None:
    if not param.requires_grad:
        raise ValueError(
            f'{KEY}: {name} has requires_grad=False (frozen), so GradNorm cannot measure '
            "gradients on it. mmdet's ResNet freezes the stem and layer1 by default "
            '(backbone.frozen_stages=1): set frozen_stages=0 or -1 in the student, or '
            "name a trainable layer every level depends on (e.g. 'student.backbone.layer2')")


def _average_over_ranks(grad_norms: Tensor, losses: Tensor,
                        present: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """Mean over the ranks that have each level (one all-reduce); identity on one rank."""
    if world_size() == 1:
        return grad_norms, losses, present
    count = present.float()
    norm_sum, loss_sum, count = sum_over_ranks([grad_norms.float() * count,
                                                losses.float() * count, count])
    return norm_sum / count.clamp_min(1), loss_sum / count.clamp_min(1), count > 0
