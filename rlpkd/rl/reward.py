"""The reward of a level selection, measured on the real student.

    reward(a) = ΔL_distill(a) / ΔL_distill(1) + λ · saved(a)  −  penalty · max(0, used(a) − budget)

- ``ΔL_distill(a)``: the *measured* drop of a sample's all-level distillation gap
  ``G(θ) = Σ_l loss_l`` after one SGD step on the student module that produces the
  pyramid (``θ``: e.g. the FPN neck), taken on the sample's *selected* level losses only:
  ``G(θ) − G(θ − η ∇_θ Σ_l a_l loss_l)``, with ``η = min(lookahead_lr, lookahead_max_drop
  · G / ‖∇G‖²)`` (the cap keeps the step from overshooting). Dividing by the drop that
  selecting every level gives makes it 1 for the full pyramid, whatever the loss scale
  (a full step that does not lower ``G`` gives 0; the ratio is clipped to [-1, 2]).
  The step is virtual (taken on detached copies of the parameters: the student is not
  modified) and taken for every sample on its own, so a reward depends only on its sample.
- ``used(a)``: FLOPs fraction of the selected levels (:class:`LevelCostModel`);
  ``saved(a) = 1 − used(a)``.

``signal='task'`` measures, instead of the gap, the drop of the sample's *task* loss
``T`` (the student's own loss on its ground truth, e.g. RPN + RoI losses) after the same
virtual step: ``ΔT(a) = T(θ) − T(θ − η ∇_θ Σ_l a_l loss_l)``, divided by ``|ΔT(1)|`` and
clipped to [-2, 2] (the full step may *raise* the task loss: a teacher level that is
wrong for this image). This is the per-image task signal of BlockDrop (Wu et al., CVPR
2018) / SkipNet (Wang et al., ECCV 2018) measured with the distillation lookahead: it
tells whether distilling a level *helps the student's task* on the image, not only
whether it closes the gap. ``T`` is evaluated with the stepped module put into the whole
student (``torch.func.functional_call``), in eval mode, under a fixed random seed (the
same proposal / RoI sampling before and after the step); it costs one student forward
per evaluated step, so it needs ``lookahead_chunk=1``.

``signal='alignment'`` is the same quantity to first order, computed exactly: the
predicted drop per unit step, ``∇_θ T · ∇_θ Σ_l a_l loss_l`` (the alignment of the
selected levels' distillation gradient with the image's task gradient; cf. gradient
alignment between auxiliary and main tasks, Du et al. 2018, "Adapting auxiliary losses
using gradient similarity"), normalised by ``|∇T · ∇G|`` and clipped like ``'task'``. It
needs one student forward + backward per sample and no evaluation after a step, so it
is free of what makes the finite step noisy on detectors (proposals and RoI sampling
that change discretely with the parameters).

``signal='batch_alignment'`` dots the same distillation step of each sample with the
task gradient of the whole scored *batch*, ``∇_θ T_B · ∇_θ Σ_l a_l loss_l``, normalised
like ``'alignment'``: the first-order influence of distilling the sample's selected
levels on the batch's task loss (TracIn, Pruthi et al., NeurIPS 2020, with one
checkpoint). One image's task gradient is dominated by its own sampling noise; the
batch's averages it, and asks whether the sample's level helps the student in general.
One student forward + backward per scored batch.

``signal='stitching'`` takes no step: the teacher's task head judges the student's
pyramid stitched into the teacher with the selected levels replaced by their targets,
``(T_t(Ŝ) − T_t(Ŝ ⊕_a T)) / T_t(Ŝ)`` (:mod:`rlpkd.rl.stitching`, where the formula,
its sources and its cost are); its improvement is that relative drop (≤ 1, clipped at
−2), not a ratio to the full selection's.

A *baseline* action (e.g. the greedy policy's choice on the same image: the
self-critical baseline of Rennie et al., CVPR 2017, used by BlockDrop) is scored with
the same virtual-step size, at one more vector-Jacobian product and evaluation.

Cost, per sample: one forward of the pyramid module and the level losses, two
vector-Jacobian products (all levels, selected levels; ``torch.func.vjp`` shares the
forward) and two evaluations after the virtual steps. ``lookahead_chunk`` samples are
stepped together with ``torch.func.vmap``; the default 1 steps one sample at a time
without vmap: the least memory (vmap was measured to add a fixed 120-170 MB of host
memory at its first use on the toy CPU detector, more than the whole lookahead needs),
while larger chunks launch fewer, bigger kernels (GPUs, many samples per batch). The
phase loop scores only every ``collect_interval``-th iteration of a phase.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Tuple

import torch
from torch import Tensor
from torch.func import vjp, vmap

from rlpkd.pyramid.cost_model import LevelCostModel
from rlpkd.pyramid.functional import PyramidFunctional, TaskInputs, autograd_grads, virtual_step

from .stitching import stitched_drops

if TYPE_CHECKING:
    from rlpkd.pyramid.pair import PyramidPair

SIGNALS = ('gap', 'task', 'alignment', 'batch_alignment', 'stitching')
#: the signals that re-run a task loss (the student's; the teacher's for 'stitching') on
#: the ground truth, one sample at a time
TASK_SIGNALS = ('task', 'alignment', 'batch_alignment', 'stitching')


class LookaheadReward:
    """Scores level selections on a :class:`rlpkd.models.PyramidPair` (module docstring).

    Args:
        pair: the matched pyramids; its student pyramid must be the output of one module
            (``model.pyramid.student.module``): the module the lookahead steps.
        cost_model: per-level costs (:class:`LevelCostModel`).
        lambda_tradeoff: λ, weight of the saved cost.
        lookahead_lr: step size η of the virtual SGD step.
        over_budget_penalty: reward penalty per unit of cost fraction over budget.
        lookahead_max_drop: caps each sample's step so that the first-order predicted
            drop of its full step is at most this fraction of its gap (see
            :meth:`lookahead_drops`); a fixed step overshoots once the student is partly
            trained (measured on the toy ResNet, where the stepped module is the whole
            backbone: after 30 warm-up steps every sample's gap rose at η = 0.01).
        lookahead_chunk: samples whose virtual steps are computed together (``vmap``);
            1 = one at a time, without vmap. Results do not depend on it.
        signal: ``'gap'`` (the distillation gap, the prototype's reward), ``'task'``
            (the sample's task loss), ``'alignment'`` / ``'batch_alignment'`` (its
            first-order versions) or ``'stitching'`` (the teacher's head on the stitched
            pyramid; module docstring).

    Raises:
        ValueError: naming ``model.selector.lookahead_chunk`` / ``lookahead_max_drop``
            for bad values, ``model.pyramid.student.module`` when the student pyramid
            comes from several modules.
    """

    def __init__(self, pair: 'PyramidPair', cost_model: LevelCostModel,
                 lambda_tradeoff: float = 0.5, lookahead_lr: float = 0.01,
                 over_budget_penalty: float = 1.0, lookahead_max_drop: float = 0.1,
                 lookahead_chunk: int = 1, signal: str = 'gap') -> None:
        if signal not in SIGNALS:
            raise ValueError(f'reward_signal (model.selector.reward_signal) must be one of '
                             f'{SIGNALS}, got {signal!r}')
        if signal in TASK_SIGNALS and lookahead_chunk != 1:
            raise ValueError(f'model.selector.reward_signal={signal!r} re-runs a network '
                             'per sample and needs model.selector.lookahead_chunk=1')
        if lookahead_chunk < 1:
            raise ValueError('lookahead_chunk (model.selector.lookahead_chunk) must be >= 1, '
                             f'got {lookahead_chunk}')
        if not lookahead_max_drop > 0:
            raise ValueError('lookahead_max_drop (model.selector.lookahead_max_drop) must be '
                             f'> 0, got {lookahead_max_drop}')
        self.functional = PyramidFunctional(pair, user='the RL reward')
        self.pair = pair
        self.signal = signal
        self.pyramid_module = self.functional.module
        self.cost_model = cost_model
        self.lambda_tradeoff = lambda_tradeoff
        self.lookahead_lr = lookahead_lr
        self.over_budget_penalty = over_budget_penalty
        self.lookahead_max_drop = lookahead_max_drop
        self.lookahead_chunk = lookahead_chunk

    @property
    def level_names(self) -> Tuple[str, ...]:
        return self.pair.level_names

    @property
    def needs_task(self) -> bool:
        """Whether scoring needs the batch's images and ground truth (:class:`TaskInputs`)."""
        return self.signal in TASK_SIGNALS

    def score(self, args: tuple, teacher_feats: List[Tensor], action: Tensor,
              budget: Tensor, baseline_action: Optional[Tensor] = None,
              task: Optional['TaskInputs'] = None, flips: bool = False
              ) -> Tuple[Tensor, dict]:
        """``(reward [B], info)`` of ``action`` ``[B, L]`` in {0, 1}.

        ``args``: the pyramid module's positional inputs (batched), as caught during the
        student's forward pass; ``task``: the batch's images and data samples (needed by
        the task signals). ``info``: ``improvement``, ``used_cost``, ``saved_cost``
        ``[B]``; with ``baseline_action`` ``[B, L]`` also ``baseline_reward`` ``[B]``;
        with ``flips`` also ``flip_rewards`` ``[B, L]``: column ``l`` is the reward of
        ``action`` with level ``l`` flipped (the per-level counterfactuals; L more
        lookahead steps per sample, computed in the same pass).
        """
        actions = [action] + ([baseline_action] if baseline_action is not None else [])
        if flips:
            eye = torch.eye(action.shape[1], device=action.device, dtype=action.dtype)
            actions += [(action - eye[level]).abs() for level in range(action.shape[1])]
        masks = torch.stack([a.detach().float() for a in actions], dim=1)    # [B, K, L]
        drops = self.lookahead_drops_many(args, teacher_feats, masks, task)  # [B, 1 + K]
        rewards = [self.reward(drops[:, 0], drops[:, 1 + k], masks[:, k], budget)
                   for k in range(masks.shape[1])]
        (reward, improvement, used), info = rewards[0], {}
        if baseline_action is not None:
            info['baseline_reward'] = rewards[1][0]
        if flips:
            info['flip_rewards'] = torch.stack([r[0] for r in rewards[-action.shape[1]:]], 1)
        return reward, dict(info, improvement=improvement, used_cost=used,
                            saved_cost=1.0 - used)

    def reward(self, full: Tensor, selected: Tensor, mask: Tensor,
               budget: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """``(reward, improvement, used)`` ``[B]`` from the drops of the full and the
        selected step (module docstring)."""
        if self.signal == 'gap':
            # a full step that does not lower the gap carries no information (0), and the
            # ratio is bounded so that one ill-conditioned sample cannot swamp a PPO batch
            improvement = torch.where(full > 0, selected / full.clamp(min=1e-12),
                                      torch.zeros_like(full)).clamp(-1.0, 2.0)
        elif self.signal == 'stitching':  # already relative to the stitched loss
            improvement = selected.clamp(-2.0, 1.0)
        else:  # the full step may raise the task loss: normalise by its size only
            scale = full.abs()
            improvement = torch.where(scale > 1e-12, selected / scale.clamp(min=1e-12),
                                      torch.zeros_like(full)).clamp(-2.0, 2.0)
        used = self.cost_model.used_fraction(mask)
        over = (used - budget).clamp(min=0)
        reward = (improvement + self.lambda_tradeoff * (1.0 - used)
                  - self.over_budget_penalty * over)
        return reward, improvement, used

    def lookahead_drops(self, args: tuple, teacher_feats: List[Tensor],
                        mask: Tensor) -> Tuple[Tensor, Tensor]:
        """``(full [B], selected [B])``: drop of each sample's all-level gap after its own
        virtual step on all levels, and on the levels of ``mask`` ``[B, L]``.

        Both steps of a sample have the same size ``η = min(lookahead_lr,
        lookahead_max_drop · G / ‖∇G‖²)`` (``G``: its all-level gap): the cap keeps the
        first-order predicted drop of the full step below ``lookahead_max_drop · G``.
        """
        drops = self.lookahead_drops_many(args, teacher_feats, mask[:, None])
        return drops[:, 0], drops[:, 1]

    def lookahead_drops_many(self, args: tuple, teacher_feats: List[Tensor], masks: Tensor,
                             task: Optional['TaskInputs'] = None) -> Tensor:
        """``[B, 1 + K]``: per sample, the drop of the measured signal (gap or task
        loss) after the full step, then after the step on each of ``masks[:, k]``
        (``masks``: ``[B, K, L]``); all steps of a sample have the same size."""
        if self.needs_task and task is None:
            raise ValueError(f'reward_signal={self.signal!r} needs the batch\'s images and '
                             'data samples')
        # float32 throughout: under AMP the caught inputs may be half precision, while
        # the lookahead runs outside autocast on the float32 parameters
        args = tree_detach(args, torch.float32)
        teacher_feats = tuple(t.detach().float() for t in teacher_feats)
        masks = masks.detach().float()
        params = self.functional.params()
        # Per-sample batch statistics are undefined (and BN must not update its running
        # statistics here): connectors and the stepped module use running ones.
        with self.functional.context(), self._named_failures():
            if self.signal == 'stitching':  # no step: the student's levels as they are
                with torch.no_grad():
                    student = self.functional.levels(params, args)
                return stitched_drops(self.pair, student, list(teacher_feats), masks, task)
            if self.lookahead_chunk == 1:
                batch_grad = None if self.signal != 'batch_alignment' else autograd_grads(
                    lambda p: self.functional.task_loss(p, task), params)[1]
                drops = torch.stack([
                    self._sample_drops(params, tree_slice(args, i, i + 1),
                                       [t[i:i + 1] for t in teacher_feats], masks[i],
                                       None if task is None else task.sample(i), batch_grad)
                    for i in range(masks.shape[0])])
            else:
                drops = vmap(lambda a, t, m: self._sample_drops(
                    params, tree_unsqueeze(a), [f.unsqueeze(0) for f in t], m),
                    chunk_size=self.lookahead_chunk)(args, teacher_feats, masks)
        return drops.detach()

    @contextmanager
    def _named_failures(self) -> Iterator[None]:
        """Re-raise a torch.func failure of the stepped module with what to change."""
        try:
            yield
        except RuntimeError as err:
            if 'functorch' not in str(err) and 'torch.func' not in str(err):
                raise
            raise RuntimeError(
                f'the RL reward steps `model.pyramid.student.module` '
                f'({type(self.pyramid_module).__name__}) with torch.func, which cannot '
                f'run one of its operations: {err}. Activation checkpointing (with_cp) is '
                'disabled inside the lookahead; other custom autograd Functions (e.g. '
                'compiled mmcv ops) need a functorch-compatible version or another '
                'model.selector') from err

    def _sample_drops(self, params: Dict[str, Tensor], sample_args: tuple,
                      sample_teacher: List[Tensor], masks: Tensor,
                      task: Optional['TaskInputs'] = None,
                      task_grad: Optional[Dict[str, Tensor]] = None) -> Tensor:
        """``[1 + K]`` drops (full, each of ``masks`` ``[K, L]``) of one sample (inputs
        of batch size 1; ``task``: its image and data sample for the task signals;
        ``task_grad``: the batch's task gradient for ``'batch_alignment'``)."""
        def gaps(p: Dict[str, Tensor]) -> Tensor:  # [L] level losses with parameters p
            return self.functional.level_losses(p, sample_args, sample_teacher)[0]

        def measured(p: Dict[str, Tensor]) -> Tensor:  # the signal whose drop is scored
            if self.signal == 'gap':
                return gaps(p).sum()
            return self.functional.task_loss(p, task)

        before, pullback = vjp(gaps, params)
        gap = before.detach().sum()
        full = pullback(torch.ones_like(masks[0]))[0]                        # ∇G
        steps = [full] + [pullback(m)[0] for m in masks]                     # ∇Σ_sel
        if self.signal in ('alignment', 'batch_alignment'):  # first order: ∇T · step
            if task_grad is None:
                task_grad = autograd_grads(lambda p: self.functional.task_loss(p, task),
                                           params)[1]
            return torch.stack([sum((task_grad[k] * step[k]).sum() for k in params)
                                for step in steps]).detach()
        sq_norm = sum(g.pow(2).sum() for g in full.values())
        lr = torch.clamp(self.lookahead_max_drop * gap / sq_norm.clamp(min=1e-12),
                         max=self.lookahead_lr)
        with torch.no_grad():
            start = gap if self.signal == 'gap' else measured(params)
            return torch.stack([start - measured(virtual_step(params, step, lr))
                                for step in steps])


def tree_slice(args, start: int, stop: int):
    """Samples ``start:stop`` of every tensor of a (nested) argument tuple."""
    if isinstance(args, Tensor):
        return args[start:stop]
    if isinstance(args, (tuple, list)):
        return type(args)(tree_slice(a, start, stop) for a in args)
    return args


def tree_unsqueeze(args):
    """Add the batch dimension back to every tensor of a (nested) argument tuple."""
    if isinstance(args, Tensor):
        return args.unsqueeze(0)
    if isinstance(args, (tuple, list)):
        return type(args)(tree_unsqueeze(a) for a in args)
    return args


def tree_detach(args, dtype: Optional[torch.dtype] = None):
    """Detach every tensor of a (nested) argument tuple; cast floating ones to ``dtype``."""
    if isinstance(args, Tensor):
        args = args.detach()
        return args.to(dtype) if dtype is not None and args.is_floating_point() else args
    if isinstance(args, (tuple, list)):
        return type(args)(tree_detach(a, dtype) for a in args)
    return args
