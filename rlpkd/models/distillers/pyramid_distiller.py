"""PyramidDistiller: a student learns from a frozen teacher's feature pyramid."""
from __future__ import annotations

import os.path as osp
from typing import Any, Dict, List, Optional, Sequence

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModel
from mmengine.runner import load_checkpoint
from torch import Tensor

from rlpkd.pyramid import PyramidPair
from rlpkd.registry import MODELS
from rlpkd.utils.checkpoint_io import checkpoint_keys

from ..selectors import LevelSelector, SelectionContext
from ..utils import build_mm_model
from .checkpoint_keys import adapt_checkpoint

#: ``teacher_ckpt``'s default: leaving the key out is an error, ``None`` is a choice
MISSING: Any = object()

DEFAULT_PYRAMID = dict(names=('P2', 'P3', 'P4', 'P5'),
                       student=dict(module='neck', indices=(0, 1, 2, 3)),
                       teacher=dict(module='neck', indices=(0, 1, 2, 3)))


@MODELS.register_module()
class PyramidDistiller(BaseModel):
    """Distil a teacher's feature pyramid into a student, level by level, per sample.

    One training iteration::

        teacher.extract_feat (no grad, eval mode) ─► teacher pyramid  T_l [B, C'_l, H_l, W_l]
        student.loss (its own task losses)        ─► student pyramid  S_l [B, C_l,  H_l, W_l]
        selector(S, T)                            ─► mask             m   [B, L]
        loss[b, l] = level_loss(connector_l(S_l[b]), T_l[b])  only where m[b, l] != 0
        loss_distill = distill_weight · mean_l ( Σ_b m[b, l] · loss[b, l] / B )

    With the uniform selector ``loss_distill`` is the mean over levels and samples.
    ``predict`` and ``tensor`` modes are the student's, so the task's evaluators
    (COCO mAP, mIoU, top-1) work unchanged.

    Args:
        student: the student model: a model dict, or ``dict(cfg_path=..., override=...)``
            naming a config file (``'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'``).
        teacher: the teacher model, same forms as ``student``.
        teacher_ckpt: local path or URL of the teacher's weights (loaded on CPU,
            without running code: :mod:`rlpkd.utils.checkpoint_io`). Required:
            leaving it out raises ``KeyError``; an explicit ``None`` keeps a randomly
            initialised teacher (tests and toy runs; warns).
        pyramid: level ``names`` plus one tap per model (see :class:`PyramidTap`), and
            ``allow_resize`` (default ``False``: paired levels of different sizes are an
            error; ``True`` resizes the student level to the teacher's).
            Default: P2–P5 = outputs 0–3 of both models' ``neck``.
        level_loss: per-sample feature loss config, e.g. ``dict(type='PKDLoss')``.
        selector: level selector config; default ``UniformSelector``.
        connector: adapter config for levels whose channels differ (in/out channels
            are filled in); ``None`` makes a channel mismatch an error.
        distill_weight: multiplies ``loss_distill``.
        balancer: level-loss balancer config, e.g. ``dict(type='GradNormBalancer')``
            (:class:`~rlpkd.models.balancers.GradNormBalancer`). ``None`` weighs every
            level 1. With one, ``loss_distill = distill_weight · mean_l(w_l · per_level_l)``
            and the outputs carry ``gradnorm_w_<level>`` every iteration (no 'loss' in
            the key: mmengine logs it and leaves it out of the total).
        probe_size: ``(H, W)`` of the zero image of the one build-time probe
            (:class:`~rlpkd.models.PyramidPair`): it checks the taps and reads every
            shape the connectors, the cost model and a learned selector's state need.
        init_cfg: mmengine initialisation config.
    """

    def __init__(self,
                 student: dict,
                 teacher: dict,
                 teacher_ckpt: Optional[str] = MISSING,
                 pyramid: dict = DEFAULT_PYRAMID,
                 level_loss: dict = dict(type='FeatureMSELoss'),
                 selector: dict = dict(type='UniformSelector'),
                 connector: Optional[dict] = None,
                 distill_weight: float = 1.0,
                 balancer: Optional[dict] = None,
                 probe_size: Sequence[int] = (64, 64),
                 init_cfg: Optional[dict] = None) -> None:
        self.student = None  # set below; BaseModel needs the preprocessor first
        student_model = build_mm_model(student, key='model.student')
        super().__init__(data_preprocessor=student_model.data_preprocessor,
                         init_cfg=init_cfg)
        self.student = student_model
        self.teacher = build_mm_model(teacher, key='model.teacher')
        self._load_teacher(teacher_ckpt)
        self.teacher_ckpt = teacher_ckpt
        self._register_load_state_dict_pre_hook(self._adapt_checkpoint)
        self.teacher.requires_grad_(False)
        self.teacher.eval()

        unknown = set(pyramid) - {'names', 'student', 'teacher', 'allow_resize'}
        if unknown:
            raise KeyError(f'`model.pyramid` has unknown key(s) {sorted(unknown)}; it takes '
                           'names, student, teacher, allow_resize')
        self.pair = PyramidPair(self.student, self.teacher, pyramid.get('names', ()),
                                pyramid['student'], pyramid['teacher'], level_loss,
                                connector, probe_size, pyramid.get('allow_resize', False))
        self.level_names = self.pair.level_names
        self.connectors = self.pair.connectors  # submodules of the distiller (checkpoint)
        self.level_loss = self.pair.level_loss
        self.selector: LevelSelector = MODELS.build(selector)
        self.selector.bind(self.pair)
        self.distill_weight = distill_weight
        self.balancer = MODELS.build(balancer) if balancer is not None else None
        if self.balancer is not None:
            self.balancer.bind(self.level_names, model=self)

    # ------------------------------------------------------------------ build
    def _load_teacher(self, ckpt: Optional[str]) -> None:
        if ckpt is MISSING:
            raise KeyError('`model.teacher_ckpt` is missing: name the teacher\'s checkpoint '
                           '(local path or URL); `teacher_ckpt=None` distils from a '
                           'randomly initialised teacher (tests and toy runs only)')
        if ckpt is None:
            print_log('model.teacher_ckpt is None: the teacher keeps its initial weights',
                      logger='current', level=30)
            return
        if '://' not in ckpt and not osp.isfile(ckpt):
            raise FileNotFoundError(f'`model.teacher_ckpt`: no such file: {ckpt}')
        try:
            with checkpoint_keys({ckpt: 'model.teacher_ckpt'}):
                load_checkpoint(self.teacher, ckpt, map_location='cpu', strict=True,
                                logger='current')
        except RuntimeError as err:
            raise RuntimeError(f'`model.teacher_ckpt` {ckpt} does not match '
                               f'`model.teacher`: {err}') from err
        # The runner's init_weights() must not overwrite the loaded weights.
        self.teacher._is_init = True

    def _adapt_checkpoint(self, state_dict, prefix, *args) -> None:
        """Student-alone checkpoints into ``model.student``; keep the configured teacher
        (:mod:`.checkpoint_keys`)."""
        adapt_checkpoint(state_dict, prefix, self, self.teacher_ckpt)

    def train(self, mode: bool = True) -> 'PyramidDistiller':
        """Switch the student (and connectors, selector) mode; the teacher and frozen
        student modules stay in eval."""
        super().train(mode)
        self.teacher.eval()
        for name in getattr(self, 'frozen_student_modules', ()):
            self.student.get_submodule(name).eval()
        return self

    def freeze_student(self, modules: Sequence[str] = ()) -> None:
        """Freeze exactly these student modules (e.g. ``('backbone',)``); unfreeze others.

        Frozen modules get no gradient and keep their BN statistics (eval mode). Used by
        the phase loop: phase 2 learns the policy with the student backbone frozen.
        """
        for name in set(getattr(self, 'frozen_student_modules', ())) - set(modules):
            self.student.get_submodule(name).requires_grad_(True)
        for name in modules:
            self.student.get_submodule(name).requires_grad_(False)
        self.frozen_student_modules = tuple(modules)
        self.train(self.training)

    # ---------------------------------------------------------------- forward
    def forward(self, inputs: Tensor, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict' and self.selector.reports_selection:
            return self.predict_with_selection(inputs, data_samples)
        return self.student(inputs, data_samples, mode=mode)

    @torch.no_grad()
    def predict_with_selection(self, inputs: Tensor, data_samples) -> list:
        """The student's predictions, each carrying the selector's decision for its image
        (metainfo ``level_selection`` ``[L]`` and the selector's ``info``, e.g. ``used_cost``)."""
        teacher_feats = None if self.selector.decides_before_teacher else \
            self.teacher_pyramid(inputs, data_samples)
        with self.pair.student_tap.record() as student_feats, \
                self.selector.observe() as observed:
            results = self.student.predict(inputs, data_samples)
        selection = self.selector(SelectionContext(student_feats, teacher_feats,
                                                   self.level_names, observed, inputs,
                                                   data_samples))
        for i, result in enumerate(results):
            meta = {k: float(v[i]) for k, v in selection.info.items()}
            result.set_metainfo(dict(level_selection=selection.mask[i].tolist(), **meta))
        return results

    def loss(self, inputs: Tensor, data_samples) -> Dict[str, Tensor]:
        """The student's task losses plus ``loss_distill`` (and per-level logs).

        A selector that :attr:`~rlpkd.models.selectors.LevelSelector.decides_before_teacher`
        decides on the student's pyramid alone; the teacher then runs only on the samples
        the selection needs (logged as ``teacher_rate``, the fraction of the batch).
        """
        teacher_feats = None if self.selector.decides_before_teacher else \
            self.teacher_pyramid(inputs, data_samples)
        with self.pair.student_tap.record() as student_feats, \
                self.selector.observe() as observed:
            losses = self.student.loss(inputs, data_samples)
        bad = first_non_finite(losses)
        if bad is not None:
            raise FloatingPointError(f'the student\'s task loss `{bad}` is not finite '
                                     '(model.student; before any distillation loss)')
        losses.update(self.distill_losses(student_feats, teacher_feats, observed, inputs,
                                          data_samples))
        return losses

    def teacher_pyramid(self, inputs: Tensor, data_samples=None) -> List[Tensor]:
        """The teacher's L levels for a batch (no gradient). An extension point: a
        benchmark that alters the teacher per sample overrides this (and only this)."""
        return self.pair.teacher_features(inputs)

    def distill_losses(self, student_feats: List[Tensor],
                       teacher_feats: Optional[List[Tensor]],
                       observed: Optional[dict] = None, inputs: Optional[Tensor] = None,
                       data_samples=None) -> Dict[str, Tensor]:
        """Select levels per sample and return ``loss_distill`` + per-level values
        (``teacher_feats=None``: the selector decides first, :meth:`loss`)."""
        selection = self.selector(SelectionContext(student_feats, teacher_feats,
                                                   self.level_names, observed or {},
                                                   inputs, data_samples))
        mask, batch, losses = selection.mask, selection.mask.shape[0], {}
        if teacher_feats is None:
            student_feats, teacher_feats, mask = self._teacher_where_needed(
                selection, student_feats, inputs, data_samples)
            losses['teacher_rate'] = mask.new_tensor(mask.shape[0] / batch)
        columns = self.pair.pair_loss_columns(student_feats, teacher_feats, mask)  # L x [K]
        pair_loss = torch.stack(columns, dim=1)                               # [K, L]
        per_level = (mask * pair_loss).sum(dim=0) / batch                     # [L]
        if not torch.isfinite(per_level).all():
            bad = [n for n, v in zip(self.level_names, per_level) if not torch.isfinite(v)]
            raise FloatingPointError(f'`model.level_loss` is not finite on level(s) {bad}')
        weighted = per_level
        if self.balancer is not None:
            # one graph per level: a level's gradient norm backpropagates its loss only
            level_losses = [(m * c).sum() / batch for m, c in zip(mask.unbind(dim=1), columns)]
            shared = self.get_parameter(self.balancer.param_name)
            level_weights = self.balancer(level_losses, selection.mask.mean(dim=0),
                                          shared)  # [L]
            weighted = level_weights * per_level
            losses.update(self.balancer.log_vars(level_weights))
        losses['loss_distill'] = self.distill_weight * weighted.mean()
        # how often a level is kept, and its mean weight (they differ for soft masks)
        rates = (selection.mask != 0).float().mean(dim=0)
        weights = selection.mask.detach().float().mean(dim=0)
        for name, value, rate, weight in zip(self.level_names, per_level.detach(), rates,
                                             weights):
            losses[f'distill_{name}'] = value
            losses[f'select_{name}'] = rate
            losses[f'select_weight_{name}'] = weight
        if 'used_cost' in selection.info:
            losses['distill_cost'] = selection.info['used_cost'].mean()
        return losses

    def _teacher_where_needed(self, selection, student_feats: List[Tensor],
                              inputs: Tensor, data_samples) -> tuple:
        """Run the teacher on the samples ``selection`` needs only; return the student
        levels, teacher levels and mask of those ``K`` samples (``[K, ...]``)."""
        index = selection.needs_teacher().nonzero().squeeze(1)
        if len(index) == len(selection.mask):
            teacher_feats = self.teacher_pyramid(inputs, data_samples)
        else:
            samples = None if data_samples is None else [data_samples[i] for i in index]
            teacher_feats = self.teacher_pyramid(inputs[index], samples) if len(index) else \
                [None] * len(student_feats)
            student_feats = [f[index] for f in student_feats]
        if len(index):
            self.selector.attach_teacher(teacher_feats, index)
        return student_feats, teacher_feats, selection.mask[index]


def first_non_finite(losses: Dict[str, object]) -> Optional[str]:
    """Name of the first loss term (a key with ``loss``: a tensor or a list of them)
    that is not finite, or ``None``; one device synchronisation for all of them."""
    names, values = [], []
    for key, value in losses.items():
        if 'loss' not in key:
            continue
        for tensor in value if isinstance(value, (list, tuple)) else [value]:
            names.append(key)
            values.append(tensor.detach().float().sum())
    if not values:
        return None
    finite = torch.isfinite(torch.stack(values))
    if bool(finite.all()):
        return None
    return names[int((~finite).nonzero()[0])]
