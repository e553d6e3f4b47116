"""Export the student of a distillation checkpoint: a plain checkpoint and config.

The distiller keeps the student at attribute ``student``, so its weights are the
``state_dict`` entries prefixed ``student.``; the teacher and connectors are dropped.
The exported checkpoint loads with the student's own package (``load_from=student.pth``);
the exported config has no rlpkd left in it (no ``custom_imports`` of rlpkd, no rlpkd
hooks, metrics or loops), so it trains, tests and infers where rlpkd is not installed.
``tools/export_student.py`` is the command line over :func:`export_checkpoint` and
:func:`student_config`.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
from mmengine.config import Config
from mmengine.runner import CheckpointLoader

from rlpkd.apis.cli import read_config
from rlpkd.models.utils import is_rlpkd_entry, resolve_model_cfg
from rlpkd.registry import registered_names

PREFIX = 'student.'


def student_state_dict(state_dict: dict[str, Any], source: str = 'checkpoint'
                       ) -> OrderedDict[str, Any]:
    """Keep the ``student.*`` entries of ``state_dict``, with the prefix removed."""
    student = OrderedDict((key[len(PREFIX):], value) for key, value in state_dict.items()
                          if key.startswith(PREFIX))
    if not student:
        raise KeyError(f'{source} has no `{PREFIX}*` weights: is it a distillation '
                       f'checkpoint? (first keys: {list(state_dict)[:5]})')
    return student


def export_checkpoint(src: str, dst: str) -> dict[str, Any]:
    """Write the student of checkpoint ``src`` to ``dst``; return what was saved."""
    ckpt = CheckpointLoader.load_checkpoint(src, map_location='cpu')
    state_dict = ckpt.get('state_dict', ckpt)
    meta = dict(ckpt.get('meta') or {})
    meta['exported_from'] = src
    out = {'meta': meta, 'state_dict': student_state_dict(state_dict, src)}
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    torch.save(out, dst)
    return out


def student_config(distill_cfg: str) -> Config:
    """The distillation config as a plain config of its student, with no rlpkd in it.

    ``model`` becomes the student's model dict (a relative ``cfg_path`` is read next to
    ``distill_cfg``, as rlpkd's tools read it), ``default_scope`` the student's scope, and
    everything rlpkd (:func:`rlpkd.models.utils.is_rlpkd_entry`) goes, wherever it is:
    ``rlpkd`` in ``custom_imports``, hooks, metrics (an evaluator list left with one
    metric becomes that metric, as in the student's own configs), helper variables of
    rlpkd's bases.
    An rlpkd train loop becomes mmengine's loop of the same length (:func:`plain_loop`).
    The result evaluates, trains and infers with the student's own package alone.
    """
    cfg = read_config(distill_cfg)
    student = cfg.get('model', {}).get('student')
    if student is None:
        raise KeyError(f'{distill_cfg} has no `model.student`')
    model, scope = resolve_model_cfg(student, key='model.student')
    cfg_dict = cfg.to_dict()
    cfg_dict.pop('model')
    in_rlpkd_scope = cfg_dict.get('default_scope') == 'rlpkd'
    # plain names mean rlpkd's components only where the scope is rlpkd
    names = registered_names() if in_rlpkd_scope else set()
    out: dict[str, Any] = {}
    for key, value in cfg_dict.items():
        if key == 'custom_imports':
            value = without_rlpkd_imports(value)
        elif key == 'default_scope':
            value = scope if scope is not None else None if value == 'rlpkd' else value
        elif is_rlpkd_entry(value, names):  # an rlpkd loop, or a helper of rlpkd's bases
            value = plain_loop(key, value) if key in LOOP_KEYS else None
        else:
            value = strip_rlpkd(value, names)
            if key.endswith('_evaluator') and isinstance(value, list) and len(value) == 1 \
                    and isinstance(cfg_dict[key], list) and len(cfg_dict[key]) > 1:
                value = value[0]
        if value is not None:
            out[key] = value
    out['model'] = model.to_dict() if hasattr(model, 'to_dict') else dict(model)
    if scope is not None:
        out['default_scope'] = scope
    return Config(out)


#: mmengine's loop keys: an rlpkd loop there is replaced, not dropped
LOOP_KEYS = ('train_cfg', 'val_cfg', 'test_cfg')


def strip_rlpkd(value: Any, names: set[str] = frozenset()) -> Any:
    """``value`` without the rlpkd entries of its dicts and lists, at any depth."""
    if isinstance(value, dict):
        return {k: strip_rlpkd(v, names) for k, v in value.items()
                if not is_rlpkd_entry(v, names)}
    if isinstance(value, (list, tuple)):
        kept = [strip_rlpkd(v, names) for v in value if not is_rlpkd_entry(v, names)]
        return type(value)(kept)
    return value


def without_rlpkd_imports(custom_imports: Any) -> Any:
    """``custom_imports`` without ``rlpkd`` and its submodules; ``None`` if none is left."""
    imports = custom_imports.get('imports', [])
    imports = [imports] if isinstance(imports, str) else list(imports)
    kept = [m for m in imports if m.split('.')[0] != 'rlpkd']
    if not kept:
        return None
    return {**custom_imports, 'imports': kept}


def plain_loop(key: str, loop: dict) -> dict:
    """mmengine's own loop for the rlpkd loop ``loop`` at config key ``key``.

    A training loop keeps its length and validation settings: phases (``PhaseTrainLoop``)
    counted in epochs become an ``EpochBasedTrainLoop`` of their total; an iteration-based
    phase loop (``iter_based=True``, every phase in ``iters``) an ``IterBasedTrainLoop``
    of its total; a loop with ``max_epochs`` / ``max_iters`` the epoch / iteration based
    loop of that length.
    """
    if key == 'val_cfg':
        return dict(type='ValLoop')
    if key == 'test_cfg':
        return dict(type='TestLoop')
    keep = {k: loop[k] for k in ('val_begin', 'val_interval', 'dynamic_intervals')
            if k in loop}
    if 'phases' in loop:
        phases = list(loop['phases'])
        if not phases:
            raise ValueError(f'{key}: {loop["type"]} has no phases')
        if loop.get('iter_based', False):
            epochs = [phase.get('name') for phase in phases if phase.get('iters') is None]
            if epochs:
                raise ValueError(f'{key}: {loop["type"]} is iteration-based (iter_based='
                                 f'True) but phase(s) {epochs} have no `iters`')
            return dict(type='IterBasedTrainLoop',
                        max_iters=sum(phase['iters'] for phase in phases), **keep)
        iters = [phase.get('name') for phase in phases if phase.get('epochs') is None]
        if iters:
            raise ValueError(
                f'{key}: {loop["type"]} counts epochs but phase(s) {iters} are given in '
                '`iters`: an epoch loop that stops mid-epoch has no plain loop of the same '
                'length. To export a student config, give every phase `epochs`, or make '
                'the schedule iteration-based (iter_based=True, every phase in `iters`, '
                'val_interval in iterations), which exports as an IterBasedTrainLoop')
        return dict(type='EpochBasedTrainLoop',
                    max_epochs=sum(phase['epochs'] for phase in phases), **keep)
    if 'max_epochs' in loop:
        return dict(type='EpochBasedTrainLoop', max_epochs=loop['max_epochs'], **keep)
    if 'max_iters' in loop:
        return dict(type='IterBasedTrainLoop', max_iters=loop['max_iters'], **keep)
    raise ValueError(f'{key}: cannot tell the length of {loop["type"]}; no `phases`, '
                     '`max_epochs` or `max_iters`')
