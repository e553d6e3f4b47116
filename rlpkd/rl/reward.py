"""The reward of a level selection, measured on the real student.

    reward(a) = ΔL_distill(a) / ΔL_distill(1) + λ · saved(a)  −  penalty · max(0, used(a) − budget)

- ``ΔL_distill(a)``: the *measured* drop of a sample's all-level distillation gap
  ``G(θ) = Σ_l loss_l`` after one SGD step of size ``lookahead_lr`` on the student module
  that produces the pyramid (``θ``: e.g. the FPN neck), taken on the sample's *selected*
  level losses only: ``G(θ) − G(θ − η ∇_θ Σ_l a_l loss_l)``. Dividing by the drop that
  selecting every level gives makes it 1 for the full pyramid, whatever the loss scale.
  The step is virtual (``torch.func``: the student is not modified) and taken for every
  sample on its own, in parallel (``vmap``), so a reward depends only on its sample.
- ``used(a)``: FLOPs fraction of the selected levels (:class:`LevelCostModel`);
  ``saved(a) = 1 − used(a)``.

Cost, for a batch of B: two batched lookaheads (each one gradient and two evaluations of
the pyramid module and the level losses per sample). The training loop therefore scores
only every ``rollout_interval``-th iteration.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Dict, Iterator, List, Tuple

import torch
from torch import Tensor, nn
from torch.func import functional_call, grad, vmap

from .cost_model import LevelCostModel


class LookaheadReward:
    """Scores selections of a :class:`rlpkd.models.PyramidDistiller` (see module docstring).

    Args:
        distiller: the distiller whose student, teacher, taps, connectors and level loss
            define the pyramid; its student pyramid must be the output of one module
            (``model.pyramid.student.module``): the module the lookahead steps.
        lambda_tradeoff: λ, weight of the saved cost.
        lookahead_lr: step size η of the virtual SGD step.
        over_budget_penalty: reward penalty per unit of cost fraction over budget.
        global_module: student module whose last output is the state's global feature.
        probe_size: ``(H, W)`` of the zero image that sizes the cost model (cost fractions
            do not depend on the image size).
    """

    def __init__(self, distiller: nn.Module, lambda_tradeoff: float = 0.5,
                 lookahead_lr: float = 0.01, over_budget_penalty: float = 1.0,
                 global_module: str = 'backbone',
                 probe_size: Tuple[int, int] = (256, 256)) -> None:
        modules = {name for name, _ in distiller.student_tap.sources}
        if len(modules) != 1:
            raise ValueError('the reward needs the student pyramid to come from one module '
                             f'(model.pyramid.student.module), got {sorted(modules)}')
        self.distiller = distiller
        self.adapt_module = distiller.student.get_submodule(next(iter(modules)))
        self.global_module = distiller.student.get_submodule(global_module)
        self.indices = [index for _, index in distiller.student_tap.sources]
        self.lambda_tradeoff = lambda_tradeoff
        self.lookahead_lr = lookahead_lr
        self.over_budget_penalty = over_budget_penalty
        self.cost_model, self.probe = self._probe(probe_size)

    @property
    def level_names(self) -> Tuple[str, ...]:
        return tuple(self.distiller.level_names)

    @contextmanager
    def observe(self) -> Iterator[Dict[str, object]]:
        """While active, catch the student's global feature (``'global'`` ``[B, C, H, W]``)
        and the inputs of the pyramid module (``'args'``) from its forward pass."""
        caught: Dict[str, object] = {}

        def catch_global(module, args, out):
            caught['global'] = out[-1] if isinstance(out, (tuple, list)) else out

        def catch_args(module, args):
            caught['args'] = args

        handles = [self.adapt_module.register_forward_pre_hook(catch_args),
                   self.global_module.register_forward_hook(catch_global)]
        try:
            yield caught
        finally:
            for handle in handles:
                handle.remove()

    def score(self, args: tuple, teacher_feats: List[Tensor], action: Tensor,
              budget: Tensor) -> Tuple[Tensor, dict]:
        """``(reward [B], info)`` of ``action`` ``[B, L]`` in {0, 1}.

        ``args``: the pyramid module's inputs caught by :meth:`observe` (batched);
        ``info``: ``improvement``, ``used_cost``, ``saved_cost`` ``[B]``.
        """
        args = tree_detach(args)
        teacher_feats = [t.detach() for t in teacher_feats]
        action = action.detach().float()
        full = self.lookahead_drop(args, teacher_feats, torch.ones_like(action))
        improvement = self.lookahead_drop(args, teacher_feats, action) / full.clamp(min=1e-12)
        used = self.cost_model.used_fraction(action)
        over = (used - budget).clamp(min=0)
        reward = (improvement + self.lambda_tradeoff * (1.0 - used)
                  - self.over_budget_penalty * over)
        return reward, dict(improvement=improvement, used_cost=used, saved_cost=1.0 - used)

    def lookahead_drop(self, args: tuple, teacher_feats: List[Tensor], mask: Tensor) -> Tensor:
        """``[B]`` drop of each sample's all-level gap after its own virtual step."""
        params = {k: v.detach() for k, v in self.adapt_module.named_parameters()}
        buffers = dict(self.adapt_module.named_buffers())
        lr, names, d = self.lookahead_lr, self.level_names, self.distiller

        def gaps(p, sample_args, sample_teacher):
            outs = functional_call(self.adapt_module, (p, buffers),
                                   tree_unsqueeze(sample_args))
            return torch.stack([
                d.level_pair_loss(name, outs[i], t.unsqueeze(0))[0]
                for name, i, t in zip(names, self.indices, sample_teacher)])

        def drop(sample_args, sample_teacher, sample_mask):
            g = grad(lambda p: (gaps(p, sample_args, sample_teacher) * sample_mask).sum())(
                params)
            after = {k: params[k] - lr * g[k] for k in params}
            return (gaps(params, sample_args, sample_teacher).sum()
                    - gaps(after, sample_args, sample_teacher).sum())

        # Per-sample batch statistics are undefined (and BN must not update its running
        # statistics inside vmap): connectors and the stepped module use running ones.
        modes = [(m, m.training) for m in (d.connectors, self.adapt_module)]
        for module, _ in modes:
            module.eval()
        try:
            with torch.enable_grad():
                out = vmap(drop)(args, tuple(teacher_feats), mask)
        finally:
            for module, mode in modes:
                module.train(mode)
        return out.detach()

    @torch.no_grad()
    def _probe(self, probe_size: Tuple[int, int]) -> Tuple[LevelCostModel, dict]:
        """Run both models once on a zero image (eval mode) to size the cost model.

        Returns the cost model and ``{'global_channels', 'level_channels'}``.
        """
        d = self.distiller
        was_training = d.training
        d.eval()
        image = torch.zeros(1, 3, *probe_size, device=next(d.parameters()).device)
        with self.observe() as caught, d.student_tap.record() as student_feats:
            d.student.extract_feat(image)
        with d.teacher_tap.record() as teacher_feats:
            d.teacher.extract_feat(image)
        d.train(was_training)
        cost_model = LevelCostModel.from_distiller(d, student_feats, teacher_feats)
        return cost_model, dict(global_channels=caught['global'].shape[1],
                                level_channels=[f.shape[1] for f in student_feats])


def tree_unsqueeze(args):
    """Add the batch dimension back to every tensor of a (nested) argument tuple."""
    if isinstance(args, Tensor):
        return args.unsqueeze(0)
    if isinstance(args, (tuple, list)):
        return type(args)(tree_unsqueeze(a) for a in args)
    return args


def tree_detach(args):
    """Detach every tensor of a (nested) argument tuple."""
    if isinstance(args, Tensor):
        return args.detach()
    if isinstance(args, (tuple, list)):
        return type(args)(tree_detach(a) for a in args)
    return args
