"""PyramidPair: a student pyramid matched level by level to a teacher pyramid.

It holds what defines a (sample, level) distillation pair — the two taps, the
connectors, the level loss — and the one build-time probe of both networks. The
distiller builds it and registers its connectors and loss as submodules; selectors,
the RL environment and the cost model get this narrow object, never the distiller
(so there is no distiller → selector → distiller cycle).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.logging import print_log
from torch import Tensor, nn
from torch.nn import functional as F

from rlpkd.registry import MODELS
from rlpkd.utils import eval_mode

from .functional import TaskInputs, fixed_seed_task_loss
from .taps import PyramidTap, catch
from .teacher_input import Normalisation, TeacherInput


@dataclass(frozen=True)
class PyramidProbe:
    """Shapes the build-time probe saw (one zero image, eval mode, no gradient).

    Attributes:
        image_size: ``(H, W)`` of the probe image.
        student: ``(C, H, W)`` of each student level.
        teacher: ``(C, H, W)`` of each teacher level.
        student_modules: ``(C, H, W)`` of the (last, for a tuple) 4-d output of every
            student submodule that ran, by name.
    """

    image_size: Tuple[int, int]
    student: Tuple[torch.Size, ...]
    teacher: Tuple[torch.Size, ...]
    student_modules: Dict[str, torch.Size]

    def module_channels(self, name: str, key: str) -> int:
        """Channels of student module ``name``'s output; ``key`` names the config key."""
        if name not in self.student_modules:
            raise KeyError(f'`{key}`: the student has no module {name!r} with a '
                           f'[B, C, H, W] output (e.g. backbone, neck)')
        return int(self.student_modules[name][0])


class PyramidPair:
    """Student and teacher pyramids, matched level by level.

    Args:
        student: the student network (not owned: this is no ``nn.Module``).
        teacher: the frozen teacher network.
        names: the L level names, e.g. ``('P2', 'P3', 'P4', 'P5')``.
        student_tap: :class:`PyramidTap` arguments for the student
            (``model.pyramid.student``).
        teacher_tap: the same for the teacher (``model.pyramid.teacher``).
        level_loss: per-sample feature loss config (``model.level_loss``).
        connector: adapter config for levels whose channels differ
            (``model.connector``); ``None`` makes a channel mismatch an error.
        probe_size: ``(H, W)`` of the zero image of the build-time probe.
        allow_resize: let a student level whose size differs from its teacher level be
            resized (bilinear) to it (``model.pyramid.allow_resize``); by default a
            level pair of different strides is an error (it pairs levels that do not
            correspond, e.g. student P2 with teacher P3).

    The teacher sees the student's batch through its own normalisation
    (:class:`~rlpkd.pyramid.teacher_input.TeacherInput`) when the two data
    preprocessors differ; the probe's image has the models' input channels.

    Attributes:
        connectors: ``nn.ModuleDict`` level name → adapter (levels whose channels differ).
        level_loss: the per-sample level loss module.
        probe: the :class:`PyramidProbe`.
    """

    def __init__(self, student: nn.Module, teacher: nn.Module, names: Sequence[str],
                 student_tap: dict, teacher_tap: dict, level_loss: dict,
                 connector: Optional[dict] = None,
                 probe_size: Sequence[int] = (64, 64), allow_resize: bool = False) -> None:
        self.student, self.teacher = student, teacher
        self.allow_resize = bool(allow_resize)
        self.teacher_input = self._teacher_input()
        self.level_names = tuple(names)
        self.student_tap = PyramidTap(student, key='model.pyramid.student', **student_tap)
        self.teacher_tap = PyramidTap(teacher, key='model.pyramid.teacher', **teacher_tap)
        for tap in (self.student_tap, self.teacher_tap):
            if tap.num_levels != len(self.level_names):
                raise ValueError(f'`{tap.key}` gives {tap.num_levels} levels but '
                                 f'`model.pyramid.names` lists {len(self.level_names)}: '
                                 f'{self.level_names}')
        self.probe = self._probe(tuple(probe_size))
        self._check_strides()
        self.connectors = self._build_connectors(connector)
        self.level_loss = MODELS.build(level_loss)
        for name, shape in zip(self.level_names, self.probe.teacher):
            self.level_loss.check_positions(
                tuple(shape[1:]), f'`model.pyramid` level {name} (on the '
                f'{self.probe.image_size} probe image, `model.probe_size`)')

    @classmethod
    def from_models(cls, teacher: nn.Module, student: nn.Module,
                    pyramid: Optional[dict] = None,
                    level_loss: dict = dict(type='FeatureMSELoss'),
                    connector: Optional[dict] = dict(type='ConvNormConnector'),
                    probe_size: Sequence[int] = (64, 64)) -> 'PyramidPair':
        """A pair of two built mm models (the prototype's ``(teacher, student)`` form).

        ``pyramid`` is ``dict(names, student=tap, teacher=tap)`` as in the distiller's
        ``model.pyramid``; by default the first four outputs of each model's ``neck``
        (``P2``–``P5``), or of its ``backbone`` where it has no neck (``res2``–``res5``).
        Connectors are built (untrained) where channels differ, on the student's device.
        """
        pyramid = pyramid or default_pyramid(student)
        pair = cls(student, teacher, pyramid['names'], pyramid['student'], pyramid['teacher'],
                   level_loss, connector, probe_size, pyramid.get('allow_resize', False))
        pair.connectors.to(next(student.parameters()).device)
        return pair

    @property
    def num_levels(self) -> int:
        return len(self.level_names)

    # ------------------------------------------------------------------ build
    def _teacher_input(self) -> TeacherInput:
        student = Normalisation.of(getattr(self.student, 'data_preprocessor', None),
                                   'model.student')
        teacher = Normalisation.of(getattr(self.teacher, 'data_preprocessor', None),
                                   'model.teacher')
        adapter = TeacherInput(student, teacher)
        if not adapter.identity:
            if None not in (student.channels, teacher.channels) and \
                    student.channels != teacher.channels:
                raise ValueError(f'`model.teacher`: its data preprocessor normalises '
                                 f'{teacher.channels} channels, the student\'s '
                                 f'{student.channels}')
            print_log('model.teacher normalises its inputs differently from the student '
                      f'(teacher: {teacher.describe()}; student: {student.describe()}): '
                      "the teacher gets the student's batch renormalised to its own",
                      logger='current', level=logging.WARNING)
        return adapter

    def input_channels(self) -> int:
        """Image channels of the student: its preprocessor's, else its first conv's."""
        channels = self.teacher_input.student.channels
        if channels is not None:
            return channels
        conv = next((m for m in self.student.modules() if isinstance(m, nn.Conv2d)), None)
        return 3 if conv is None else conv.in_channels

    @torch.no_grad()
    def _probe(self, size: Tuple[int, int]) -> PyramidProbe:
        """Run both networks once on a zero image; record every shape the build needs."""
        device = next(self.student.parameters()).device
        image = torch.zeros(1, self.input_channels(), *size, device=device)
        named = {name: (m, 'output') for name, m in self.student.named_modules() if name}
        with eval_mode(self.student, self.teacher):
            with self.student_tap.record() as student, catch(named) as outputs:
                self.student.extract_feat(image)
            teacher = self.teacher_features(image)
        modules = {}
        for name, out in outputs.items():
            last = out[-1] if isinstance(out, (tuple, list)) and out else out
            if isinstance(last, Tensor) and last.dim() == 4:
                modules[name] = last.shape[1:]
        return PyramidProbe(size, tuple(f.shape[1:] for f in student),
                            tuple(f.shape[1:] for f in teacher), modules)

    def _check_strides(self) -> None:
        """Paired levels must have the same size (stride) unless resizing is allowed."""
        for name, s, t in zip(self.level_names, self.probe.student, self.probe.teacher):
            if tuple(s[1:]) != tuple(t[1:]) and not self.allow_resize:
                raise ValueError(
                    f'`model.pyramid`: level {name} is {tuple(s[1:])} in the student and '
                    f'{tuple(t[1:])} in the teacher on a {self.probe.image_size} image: the '
                    'paired levels have different strides (check `model.pyramid.student` / '
                    '`.teacher` indices); set `model.pyramid.allow_resize=True` to resize '
                    'the student level to the teacher\'s on purpose')

    def _build_connectors(self, connector: Optional[dict]) -> nn.ModuleDict:
        connectors = nn.ModuleDict()
        for name, s, t in zip(self.level_names, self.probe.student, self.probe.teacher):
            c_s, c_t = int(s[0]), int(t[0])
            if c_s == c_t:
                continue
            if connector is None:
                raise ValueError(f'level {name}: student has {c_s} channels, teacher {c_t}; '
                                 "set `model.connector` (e.g. dict(type='ConvNormConnector'))")
            connectors[name] = MODELS.build(dict(connector, in_channels=c_s, out_channels=c_t))
        return connectors

    # ------------------------------------------------------------------ access
    def student_module(self, name: str, key: str) -> nn.Module:
        """The student submodule ``name``; ``key`` is the config key named on error."""
        try:
            return self.student.get_submodule(name)
        except AttributeError:
            children = ', '.join(n for n, _ in self.student.named_children())
            raise KeyError(f'`{key}`: the student has no submodule {name!r} (its top-level '
                           f'children: {children})') from None

    def extract(self, inputs: Tensor) -> Tuple[List[Tensor], List[Tensor]]:
        """Both pyramids of a preprocessed batch ``[B, 3, H, W]``: ``(student, teacher)``,
        each L tensors ``[B, C_l, H_l, W_l]``. The caller chooses grad mode and catches
        anything else it wants around this call (e.g. with :func:`catch`)."""
        with self.student_tap.record() as student:
            self.student.extract_feat(inputs)
        return student, self.teacher_features(inputs)

    @torch.no_grad()
    def teacher_features(self, inputs: Tensor) -> List[Tensor]:
        """The teacher pyramid (no gradient) of the student's preprocessed batch,
        renormalised to the teacher's own normalisation where the two differ."""
        with self.teacher_tap.record() as teacher:
            self.teacher.extract_feat(self.teacher_input(inputs))
        return teacher

    def teacher_task_loss(self, task: 'TaskInputs',
                          levels: Optional[Dict[int, Tensor]] = None) -> Tensor:
        """``[B]``: the teacher's task loss on each image of ``task`` alone (its own
        normalisation; :func:`~rlpkd.pyramid.functional.fixed_seed_task_loss`), with its
        pyramid levels ``levels`` ``{index: [B, C'_l, H_l, W_l]}`` put in place of its own
        (:meth:`PyramidTap.substitute`) where given."""
        images = self.teacher_input(task.images)
        losses = []
        for i in range(images.shape[0]):
            sample = {level: feat[i:i + 1] for level, feat in (levels or {}).items()}
            with self.teacher_tap.substitute(sample):
                losses.append(fixed_seed_task_loss(
                    self.teacher, TaskInputs(images[i:i + 1].float(), [task.data_samples[i]])))
        return torch.stack(losses)

    # ------------------------------------------------------------------ losses
    def level_pair_loss(self, name: str, s_feat: Tensor, t_feat: Tensor) -> Tensor:
        """Connector, resize to the teacher's size, loss: ``[k, C, H, W]`` x 2 -> ``[k]``."""
        s_feat = self.to_teacher_space(name, s_feat, t_feat)
        self.level_loss.check_positions(tuple(t_feat.shape[-2:]),
                                        f'`model.pyramid` level {name}')
        return self.level_loss(s_feat, t_feat)

    def to_teacher_space(self, name: str, s_feat: Tensor, t_feat: Tensor) -> Tensor:
        """The student level ``[k, C_s, H_s, W_s]`` through its connector, resized to the
        teacher level ``t_feat`` ``[k, C_t, H_t, W_t]`` (only with ``allow_resize``)."""
        if name in self.connectors:
            s_feat = self.connectors[name](s_feat)
        if s_feat.shape[-2:] != t_feat.shape[-2:]:
            if not self.allow_resize:
                raise ValueError(f'`model.pyramid`: level {name} is {tuple(s_feat.shape[-2:])}'
                                 f' in the student, {tuple(t_feat.shape[-2:])} in the teacher;'
                                 ' set `model.pyramid.allow_resize=True` to resize it')
            s_feat = F.interpolate(s_feat, size=t_feat.shape[-2:], mode='bilinear',
                                   align_corners=False)
        return s_feat

    def pair_loss_columns(self, student_feats: Sequence[Tensor],
                          teacher_feats: Sequence[Tensor], mask: Tensor) -> List[Tensor]:
        """L tensors ``[B]`` (each its own graph): level losses of the pairs with a
        non-zero ``mask`` ``[B, L]``; zeros (no gradient) elsewhere."""
        batch, columns = mask.shape[0], []
        for level, (name, s_feat, t_feat) in enumerate(
                zip(self.level_names, student_feats, teacher_feats)):
            keep = mask[:, level] != 0
            column = s_feat.new_zeros(batch, dtype=torch.float32)
            if batch and keep.all():  # (an empty batch: no teacher level to compare)
                column = self.level_pair_loss(name, s_feat, t_feat)
            elif keep.any():
                index = keep.nonzero().squeeze(1)
                values = self.level_pair_loss(name, s_feat[index], t_feat[index])
                column = column.index_put((index,), values)
            columns.append(column)
        return columns

    def pair_losses(self, student_feats: Sequence[Tensor], teacher_feats: Sequence[Tensor],
                    mask: Tensor) -> Tensor:
        """``[B, L]`` level losses, computed only for pairs with a non-zero mask."""
        return torch.stack(self.pair_loss_columns(student_feats, teacher_feats, mask), dim=1)

    @torch.no_grad()
    def pooled_gap(self, student_feats: Sequence[Tensor],
                   teacher_feats: Sequence[Tensor]) -> Tensor:
        """``[B]`` float32 cheap pyramid gap: mean over levels of
        ``mean_c (connector(pool S_l) − pool T_l)^2`` (global average pools).

        A 1x1 connector with eval-mode BN commutes with average pooling, so this is the
        gap of the pooled connector output at no full-resolution compute.
        """
        gaps = []
        with eval_mode(self.connectors):
            for name, s_feat, t_feat in zip(self.level_names, student_feats, teacher_feats):
                s = s_feat.float().mean(dim=(2, 3), keepdim=True)
                if name in self.connectors:  # in the connector's dtype (AMP: half features)
                    weight = next(self.connectors[name].parameters(), None)
                    s = self.connectors[name](s if weight is None else s.to(weight.dtype))
                gaps.append((s.float().flatten(1) - t_feat.float().mean(dim=(2, 3)))
                            .pow(2).mean(dim=1))
        return torch.stack(gaps, dim=1).mean(dim=1)


def default_pyramid(model: nn.Module) -> dict:
    """Four levels of ``model``'s ``neck`` (P2–P5), else of its ``backbone`` (res2–res5)."""
    children = dict(model.named_children())
    if 'neck' in children:
        names, module = ('P2', 'P3', 'P4', 'P5'), 'neck'
    elif 'backbone' in children:
        names, module = ('res2', 'res3', 'res4', 'res5'), 'backbone'
    else:
        raise KeyError(f'{type(model).__name__} has neither a `neck` nor a `backbone`; '
                       'pass `pyramid=dict(names=..., student=..., teacher=...)`')
    tap = dict(module=module, indices=(0, 1, 2, 3))
    return dict(names=names, student=tap, teacher=dict(tap))
