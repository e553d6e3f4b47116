"""What a distiller makes of the checkpoints mmengine loads into it (``load_from``,
``--resume``, ``tools/test.py``), so that the configured models are the ones trained:

- a checkpoint of the *student alone* (its keys lack the ``student.`` prefix: e.g. a
  ``work_dirs/student/epoch_12.pth`` given as ``load_from``) is loaded into
  ``model.student``, and the log says so (otherwise none of its tensors would match and
  training would silently start from scratch);
- the teacher stays the configured one: with ``model.teacher_ckpt`` set, a checkpoint's
  ``teacher.*`` tensors are replaced by the configured teacher's before loading, with a
  warning when they differ (a distillation checkpoint trained with another teacher);
  with ``model.teacher_ckpt=None`` the checkpoint's teacher is loaded, and the log says so;
- a checkpoint none of whose tensors fits the distiller (name and shape: a checkpoint of
  another task or model) is an error naming the file, where mmengine would only warn and
  train from scratch. Some tensors that do not fit (another head) stay mmengine's warning.
"""
from __future__ import annotations

import logging
from typing import Dict, Optional

import torch
from mmengine.logging import print_log
from torch import Tensor, nn

from rlpkd.utils.checkpoint_io import last_loaded

STUDENT, TEACHER = 'student.', 'teacher.'


def adapt_checkpoint(state_dict: Dict[str, Tensor], prefix: str, distiller: nn.Module,
                     teacher_ckpt: Optional[str]) -> None:
    """Rewrite ``state_dict`` in place (a ``load_state_dict`` pre-hook of the distiller
    registered at ``prefix``)."""
    _student_alone(state_dict, prefix, distiller)
    _check_fits(state_dict, prefix, distiller)
    _configured_teacher(state_dict, prefix, distiller.teacher, teacher_ckpt)


def _student_alone(state_dict: Dict[str, Tensor], prefix: str, distiller: nn.Module) -> None:
    children = tuple(f'{prefix}{name}.' for name, _ in distiller.named_children())
    keys = [k for k in state_dict if k.startswith(prefix)]
    if not keys or any(k.startswith(children) for k in keys):
        return
    student_keys = set(distiller.student.state_dict())
    matched = [k for k in keys if k[len(prefix):] in student_keys]
    if not matched:
        return
    for key in keys:
        state_dict[f'{prefix}{STUDENT}{key[len(prefix):]}'] = state_dict.pop(key)
    print_log(f'the checkpoint holds the student alone (keys without `student.`): '
              f'{len(matched)} of its {len(keys)} tensors loaded into model.student '
              f'({len(student_keys)} tensors)', logger='current', level=logging.WARNING)


def _check_fits(state_dict: Dict[str, Tensor], prefix: str, distiller: nn.Module) -> None:
    """``ValueError`` naming the file if no tensor of the checkpoint fits the distiller."""
    ours = distiller.state_dict()
    keys = [k for k in state_dict if k.startswith(prefix)]
    # scalars (BatchNorm's num_batches_tracked) fit any model that has the same names
    if not keys or any(k[len(prefix):] in ours and state_dict[k].dim() > 0 and
                       ours[k[len(prefix):]].shape == state_dict[k].shape for k in keys):
        return
    raise ValueError(f'{last_loaded()} fits nothing of this distiller: none of its '
                     f'{len(keys)} tensors has the name and shape of one of the distiller\'s '
                     f'(a checkpoint of another task or model?); its first keys: '
                     f'{[k[len(prefix):] for k in keys[:4]]}')


def _configured_teacher(state_dict: Dict[str, Tensor], prefix: str, teacher: nn.Module,
                        teacher_ckpt: Optional[str]) -> None:
    ours = teacher.state_dict()
    theirs = {k[len(prefix) + len(TEACHER):]: k for k in state_dict
              if k.startswith(prefix + TEACHER)}
    if not theirs:
        return
    if teacher_ckpt is None:
        print_log('model.teacher_ckpt is None: the teacher\'s weights come from the loaded '
                  'checkpoint', logger='current', level=logging.WARNING)
        return
    differ = [name for name, key in theirs.items() if name in ours
              and not _same(ours[name], state_dict[key])]
    for name, key in theirs.items():
        if name in ours:
            state_dict[key] = ours[name]
    if differ:
        print_log(f'the loaded checkpoint was distilled from another teacher than '
                  f'model.teacher_ckpt={teacher_ckpt} ({len(differ)} teacher tensors '
                  'differ): its teacher.* weights are ignored, the configured teacher is '
                  'kept', logger='current', level=logging.WARNING)


def _same(a: Tensor, b: Tensor) -> bool:
    return a.shape == b.shape and torch.equal(a.cpu(), b.detach().cpu().to(a.dtype))
