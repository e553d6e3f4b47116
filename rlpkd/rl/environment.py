"""The level-selection MDP on real teacher / student pyramids.

Episode: one sample. Its L include/skip decisions (one per level) are made by the
policy level by level (see :class:`rlpkd.rl.policy.PolicyNetwork`); the environment
scores the finished selection ``a ∈ {0,1}^L``:

    reward = ΔL_distill(a) / ΔL_distill(1) + λ · saved(a)  −  penalty · max(0, used(a) − budget)

- ``ΔL_distill(a)`` is the *measured* drop of the sample's all-level distillation gap
  ``G(θ) = Σ_l loss_l`` after one SGD step of size ``lookahead_lr`` on the student
  module that produces the pyramid (``θ``: e.g. the FPN neck), taken on the sample's
  *selected* level losses only: ``G(θ) − G(θ − η ∇_θ Σ_l a_l loss_l)``. Normalising by
  the drop that selecting every level gives makes it ~1 for the full pyramid and
  independent of the loss scale. The step is virtual (``torch.func``; the real
  student is not modified) and taken for every sample independently and in parallel
  (``vmap``), so a sample's reward depends only on its own selection.
- ``saved(a) = 1 − used(a)`` with ``used(a)`` the FLOPs fraction of the selected levels
  (:class:`rlpkd.rl.cost_model.LevelCostModel`).

Overhead per reset + step, for a batch: the student backbone + teacher forward (shared
with training when used inside the distiller), and two batched per-sample lookaheads
(a gradient and two evaluations of the pyramid module each).
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import torch
from torch import Tensor, nn
from torch.func import functional_call, grad, vmap

from .cost_model import LevelCostModel
from .state import StateBuilder


class ParallelDistillationEnv:
    """The MDP over every sample of a batch at once (no Python loop over samples).

    Args:
        distiller: a built :class:`rlpkd.models.PyramidDistiller` (teacher, student,
            taps, connectors, level loss). Its student pyramid must be the output of one
            module (``model.pyramid.student.module``); that module is the one the
            lookahead steps.
        lambda_tradeoff: λ, weight of the saved cost in the reward.
        lookahead_lr: step size η of the virtual SGD step.
        budget: cost budget as a fraction of the all-level cost (1 = unconstrained).
        over_budget_penalty: reward penalty per unit of cost fraction over budget.
        global_module: student module whose last output is the global feature.
        global_dim: size of the global block of the state.
        probe_size: ``(H, W)`` of the zero image whose pyramid sizes the cost model and
            the state (cost *fractions* do not depend on the image size).
    """

    def __init__(self, distiller: nn.Module, lambda_tradeoff: float = 0.5,
                 lookahead_lr: float = 0.01, budget: float = 1.0,
                 over_budget_penalty: float = 1.0, global_module: str = 'backbone',
                 global_dim: int = 512, probe_size: Tuple[int, int] = (256, 256)) -> None:
        modules = {name for name, _ in distiller.student_tap.sources}
        if len(modules) != 1:
            raise ValueError('the environment needs the student pyramid to come from one '
                             f'module (model.pyramid.student.module), got {sorted(modules)}')
        self.distiller = distiller
        self.adapt_name = modules.pop()
        self.adapt_module = distiller.student.get_submodule(self.adapt_name)
        self.indices = [index for _, index in distiller.student_tap.sources]
        self.global_name = global_module
        self.lambda_tradeoff = lambda_tradeoff
        self.lookahead_lr = lookahead_lr
        self.budget = budget
        self.over_budget_penalty = over_budget_penalty
        self._context: Optional[dict] = None
        self._build(global_dim, probe_size)

    @property
    def level_names(self) -> Tuple[str, ...]:
        return tuple(self.distiller.level_names)

    # ------------------------------------------------------------------ MDP
    @torch.no_grad()
    def reset(self, inputs: Tensor, budget: Optional[Tensor] = None) -> Tensor:
        """Observe a batch. ``inputs``: preprocessed images ``[B, 3, H, W]``.

        Returns the states ``[B, S]``.
        """
        d = self.distiller
        args, global_feat, student_feats = self._student_pass(inputs)
        with d.teacher_tap.record() as teacher_feats:
            d.teacher.extract_feat(inputs)

        batch = inputs.shape[0]
        ones = inputs.new_ones(batch, len(self.level_names))
        gap = d.pair_losses(student_feats, teacher_feats, ones).sum(dim=1)        # [B]
        budget = inputs.new_full((batch,), self.budget) if budget is None else budget
        states = self.state_builder(global_feat, student_feats, gap / len(self.level_names),
                                    budget)
        self._context = dict(args=args, teacher=teacher_feats, gap=gap, budget=budget,
                             states=states,
                             full_drop=self.lookahead_drop(args, teacher_feats, ones))
        return states

    def step(self, action: Tensor) -> Tuple[Tensor, Tensor, Tensor, dict]:
        """Score the selections ``action`` ``[B, L]`` in {0, 1}.

        Returns ``(next_state [B, S], reward [B], done [B], info)``; every episode ends
        here (``done`` all ones). ``info``: ``selected_layers`` (names per sample),
        ``distill_loss`` ``[B]`` (all-level gap before the step), ``used_cost`` /
        ``saved_cost`` ``[B]`` (fractions), ``improvement`` ``[B]``.
        """
        if self._context is None:
            raise RuntimeError('call reset() before step()')
        ctx, action = self._context, action.float()
        drop = self.lookahead_drop(ctx['args'], ctx['teacher'], action)
        improvement = drop / ctx['full_drop'].clamp(min=1e-12)
        used = self.cost_model.used_fraction(action)
        saved = 1.0 - used
        over = (used - ctx['budget']).clamp(min=0)
        reward = improvement + self.lambda_tradeoff * saved - self.over_budget_penalty * over
        info = dict(selected_layers=self.selected_layers(action), distill_loss=ctx['gap'],
                    used_cost=used, saved_cost=saved, improvement=improvement)
        self._context = None
        return ctx['states'], reward, torch.ones_like(reward), info

    def selected_layers(self, action: Tensor) -> List[List[str]]:
        return [[n for n, a in zip(self.level_names, row) if a > 0] for row in action.tolist()]

    # ------------------------------------------------------------ lookahead
    def lookahead_drop(self, args: tuple, teacher_feats: List[Tensor], mask: Tensor) -> Tensor:
        """``[B]`` drop of each sample's all-level gap after its own virtual step."""
        params = {k: v.detach() for k, v in self.adapt_module.named_parameters()}
        buffers = dict(self.adapt_module.named_buffers())
        lr, names = self.lookahead_lr, self.level_names
        d = self.distiller

        def gaps(p, sample_args, sample_teacher):
            outs = functional_call(self.adapt_module, (p, buffers),
                                   tree_unsqueeze(sample_args))
            return torch.stack([
                d.level_pair_loss(name, outs[i], t.unsqueeze(0))[0]
                for name, i, t in zip(names, self.indices, sample_teacher)])

        def drop(sample_args, sample_teacher, sample_mask):
            step = grad(lambda p: (gaps(p, sample_args, sample_teacher) * sample_mask).sum())
            g = step(params)
            after = {k: params[k] - lr * g[k] for k in params}
            return (gaps(params, sample_args, sample_teacher).sum()
                    - gaps(after, sample_args, sample_teacher).sum())

        was_training = d.connectors.training
        d.connectors.eval()  # per-sample statistics are undefined; use running ones
        try:
            with torch.enable_grad():
                out = vmap(drop)(args, tuple(teacher_feats), mask)
        finally:
            d.connectors.train(was_training)
        return out.detach()

    # --------------------------------------------------------------- helpers
    def _student_pass(self, inputs: Tensor) -> Tuple[tuple, Tensor, List[Tensor]]:
        """Student forward catching the lookahead module's inputs, the global feature
        (last output of ``global_module``) and the pyramid."""
        student, caught = self.distiller.student, {}

        def catch_global(module, args, out):
            caught['global'] = out[-1] if isinstance(out, (tuple, list)) else out

        handles = [self.adapt_module.register_forward_pre_hook(
                       lambda module, args: caught.__setitem__('args', args)),
                   student.get_submodule(self.global_name).register_forward_hook(
                       catch_global)]
        try:
            with self.distiller.student_tap.record() as pyramid:
                student.extract_feat(inputs)
        finally:
            for handle in handles:
                handle.remove()
        return caught['args'], caught['global'], pyramid

    @torch.no_grad()
    def _build(self, global_dim: int, probe_size: Tuple[int, int]) -> None:
        """Size the cost model and the state builder on a zero image (eval mode)."""
        d = self.distiller
        was_training = d.training
        d.eval()
        image = torch.zeros(1, 3, *probe_size, device=next(d.parameters()).device)
        _, global_feat, student_feats = self._student_pass(image)
        with d.teacher_tap.record() as teacher_feats:
            d.teacher.extract_feat(image)
        d.train(was_training)
        self.cost_model = LevelCostModel.from_distiller(d, student_feats, teacher_feats)
        self.state_builder = StateBuilder([f.shape[1] for f in student_feats],
                                          global_feat.shape[1], global_dim)
        self.state_builder.to(image.device)

    @property
    def state_dim(self) -> int:
        return self.state_builder.state_dim


def tree_unsqueeze(args):
    """Add the batch dimension back to every tensor of a (nested) argument tuple."""
    if isinstance(args, Tensor):
        return args.unsqueeze(0)
    if isinstance(args, (tuple, list)):
        return type(args)(tree_unsqueeze(a) for a in args)
    return args


class DistillationEnvironment:
    """The same MDP one sample at a time: the prototype's ``reset`` / ``step`` API.

    ``reset(sample [3, H, W]) -> state [S]``; ``step(action [L]) -> (state, reward: float,
    done: bool, info)`` with ``info['selected_layers']`` such as ``['P2', 'P4', 'P5']`` and
    float ``distill_loss``, ``used_cost``, ``saved_cost``, ``improvement``.
    The prototype took ``(teacher, student)``; here a distiller carries both, plus the
    taps, connectors and level loss that define the pyramid. Arguments as
    :class:`ParallelDistillationEnv`.
    """

    def __init__(self, distiller: nn.Module, lambda_tradeoff: float = 0.5, **kwargs) -> None:
        self.env = ParallelDistillationEnv(distiller, lambda_tradeoff, **kwargs)

    @property
    def state_dim(self) -> int:
        return self.env.state_dim

    def reset(self, sample: Tensor) -> Tensor:
        return self.env.reset(sample.unsqueeze(0) if sample.dim() == 3 else sample)[0]

    def step(self, action: Tensor) -> Tuple[Tensor, float, bool, dict]:
        state, reward, done, info = self.env.step(action.reshape(1, -1))
        info = {k: (v[0] if isinstance(v, list) else float(v[0])) for k, v in info.items()}
        return state[0], float(reward[0]), bool(done[0]), info
