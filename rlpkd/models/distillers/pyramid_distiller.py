"""PyramidDistiller: a student learns from a frozen teacher's feature pyramid."""
from __future__ import annotations

import os.path as osp
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModel
from mmengine.runner import load_checkpoint
from torch import Tensor, nn
from torch.nn import functional as F

from rlpkd.registry import MODELS

from ..selectors import LevelSelector, SelectionContext
from ..taps import PyramidTap
from ..utils import build_mm_model

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
        teacher_ckpt: local path or URL of the teacher's weights (loaded on CPU).
            ``None`` keeps a randomly initialised teacher (tests only; warns).
        pyramid: level ``names`` plus one tap per model (see :class:`PyramidTap`).
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
        probe_size: ``(H, W)`` of the zero image used at build time to check taps
            and read each level's channels.
        init_cfg: mmengine initialisation config.
    """

    def __init__(self,
                 student: dict,
                 teacher: dict,
                 teacher_ckpt: Optional[str] = None,
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
        self.teacher.requires_grad_(False)
        self.teacher.eval()

        names = tuple(pyramid.get('names', ()))
        self.level_names = names
        self.student_tap = PyramidTap(self.student, key='model.pyramid.student',
                                      **pyramid['student'])
        self.teacher_tap = PyramidTap(self.teacher, key='model.pyramid.teacher',
                                      **pyramid['teacher'])
        for tap in (self.student_tap, self.teacher_tap):
            if tap.num_levels != len(names):
                raise ValueError(f'`{tap.key}` gives {tap.num_levels} levels but '
                                 f'`model.pyramid.names` lists {len(names)}: {names}')
        self.connectors = self._build_connectors(connector, probe_size)
        self.level_loss = MODELS.build(level_loss)
        self.selector: LevelSelector = MODELS.build(selector)
        self.selector.bind(self)
        self.distill_weight = distill_weight
        self.balancer = MODELS.build(balancer) if balancer is not None else None
        if self.balancer is not None:
            self.balancer.bind(names, model=self)

    # ------------------------------------------------------------------ build
    def _load_teacher(self, ckpt: Optional[str]) -> None:
        if ckpt is None:
            print_log('model.teacher_ckpt is None: the teacher keeps its initial weights',
                      logger='current', level=30)
            return
        if '://' not in ckpt and not osp.isfile(ckpt):
            raise FileNotFoundError(f'`model.teacher_ckpt`: no such file: {ckpt}')
        try:
            load_checkpoint(self.teacher, ckpt, map_location='cpu', strict=True,
                            logger='current')
        except RuntimeError as err:
            raise RuntimeError(f'`model.teacher_ckpt` {ckpt} does not match '
                               f'`model.teacher`: {err}') from err
        # The runner's init_weights() must not overwrite the loaded weights.
        self.teacher._is_init = True

    @torch.no_grad()
    def _probe_channels(self, probe_size: Sequence[int]) -> List[tuple]:
        """Run both models on a zero image; return ``(C_student, C_teacher)`` per level."""
        image = torch.zeros(1, 3, *probe_size)
        channels = []
        for model, tap in ((self.student, self.student_tap), (self.teacher, self.teacher_tap)):
            was_training = model.training
            model.eval()
            with tap.record() as feats:
                model.extract_feat(image)
            model.train(was_training)
            channels.append([f.shape[1] for f in feats])
        return list(zip(*channels))

    def _build_connectors(self, connector: Optional[dict],
                          probe_size: Sequence[int]) -> nn.ModuleDict:
        connectors = nn.ModuleDict()
        for name, (c_s, c_t) in zip(self.level_names, self._probe_channels(probe_size)):
            if c_s == c_t:
                continue
            if connector is None:
                raise ValueError(f'level {name}: student has {c_s} channels, teacher {c_t}; '
                                 "set `model.connector` (e.g. dict(type='ConvNormConnector'))")
            connectors[name] = MODELS.build(dict(connector, in_channels=c_s, out_channels=c_t))
        return connectors

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
        with self.teacher_tap.record() as teacher_feats:
            self.teacher.extract_feat(inputs)
        with self.student_tap.record() as student_feats, self.selector.observe() as seen:
            results = self.student.predict(inputs, data_samples)
        selection = self.selector(SelectionContext(student_feats, teacher_feats,
                                                   self.level_names, seen))
        for i, result in enumerate(results):
            meta = {k: float(v[i]) for k, v in selection.info.items()}
            result.set_metainfo(dict(level_selection=selection.mask[i].tolist(), **meta))
        return results

    def loss(self, inputs: Tensor, data_samples) -> Dict[str, Tensor]:
        """The student's task losses plus ``loss_distill`` (and per-level logs)."""
        with torch.no_grad(), self.teacher_tap.record() as teacher_feats:
            self.teacher.extract_feat(inputs)
        with self.student_tap.record() as student_feats, self.selector.observe() as seen:
            losses = self.student.loss(inputs, data_samples)
        losses.update(self.distill_losses(student_feats, teacher_feats, seen))
        return losses

    def distill_losses(self, student_feats: List[Tensor], teacher_feats: List[Tensor],
                       observed: Optional[dict] = None) -> Dict[str, Tensor]:
        """Select levels per sample and return ``loss_distill`` + per-level values."""
        selection = self.selector(SelectionContext(student_feats, teacher_feats,
                                                   self.level_names, observed or {}))
        mask = selection.mask
        columns = self.pair_loss_columns(student_feats, teacher_feats, mask)  # L x [B]
        pair_loss = torch.stack(columns, dim=1)                               # [B, L]
        per_level = (mask * pair_loss).mean(dim=0)                            # [L]
        if not torch.isfinite(per_level).all():
            bad = [n for n, v in zip(self.level_names, per_level) if not torch.isfinite(v)]
            raise FloatingPointError(f'`model.level_loss` is not finite on level(s) {bad}')
        weighted, losses = per_level, {}
        if self.balancer is not None:
            # one graph per level: a level's gradient norm backpropagates its loss only
            level_losses = [(m * c).mean() for m, c in zip(mask.unbind(dim=1), columns)]
            shared = self.get_parameter(self.balancer.param_name)
            level_weights = self.balancer(level_losses, mask.mean(dim=0), shared)  # [L]
            weighted = level_weights * per_level
            losses.update(self.balancer.log_vars(level_weights))
        losses['loss_distill'] = self.distill_weight * weighted.mean()
        rates = (mask != 0).float().mean(dim=0)
        for name, value, rate in zip(self.level_names, per_level.detach(), rates):
            losses[f'distill_{name}'] = value
            losses[f'select_{name}'] = rate
        if 'used_cost' in selection.info:
            losses['distill_cost'] = selection.info['used_cost'].mean()
        return losses

    def pair_losses(self, student_feats: List[Tensor], teacher_feats: List[Tensor],
                    mask: Tensor) -> Tensor:
        """``[B, L]`` level losses, computed only for pairs with a non-zero mask."""
        return torch.stack(self.pair_loss_columns(student_feats, teacher_feats, mask), dim=1)

    def pair_loss_columns(self, student_feats: List[Tensor], teacher_feats: List[Tensor],
                          mask: Tensor) -> List[Tensor]:
        """The columns of :meth:`pair_losses`: L tensors ``[B]``, each its own graph."""
        batch, columns = mask.shape[0], []
        for level, (name, s_feat, t_feat) in enumerate(
                zip(self.level_names, student_feats, teacher_feats)):
            keep = mask[:, level] != 0
            column = s_feat.new_zeros(batch, dtype=torch.float32)
            if keep.all():
                column = self.level_pair_loss(name, s_feat, t_feat)
            elif keep.any():
                index = keep.nonzero().squeeze(1)
                values = self.level_pair_loss(name, s_feat[index], t_feat[index])
                column = column.index_put((index,), values)
            columns.append(column)
        return columns

    def level_pair_loss(self, name: str, s_feat: Tensor, t_feat: Tensor) -> Tensor:
        """Connector, resize to the teacher's size, loss: ``[k, C, H, W]`` x 2 -> ``[k]``."""
        if name in self.connectors:
            s_feat = self.connectors[name](s_feat)
        if s_feat.shape[-2:] != t_feat.shape[-2:]:
            s_feat = F.interpolate(s_feat, size=t_feat.shape[-2:], mode='bilinear',
                                   align_corners=False)
        return self.level_loss(s_feat, t_feat)
