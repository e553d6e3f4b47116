"""Turn a distillation checkpoint into a plain checkpoint (and config) of the student.

The distiller keeps the student at attribute ``student``, so its weights are the
``state_dict`` entries prefixed ``student.``; the teacher and connectors are dropped::

    python tools/export_student.py work_dirs/kd/epoch_12.pth student.pth \\
        --config configs/kd.py --out-config student_cfg.py

The exported checkpoint loads with the student's own package (``load_from=student.pth``).
"""
from __future__ import annotations

import argparse
import sys
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from mmengine.config import Config
from mmengine.runner import CheckpointLoader

try:  # importing rlpkd registers its components
    import rlpkd
except ImportError:  # run from a checkout without ``pip install``
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import rlpkd  # noqa: F401

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
    """The distillation config with ``model`` replaced by its student's model dict."""
    from rlpkd.models.utils import resolve_model_cfg  # lazy: weights export needs no models

    cfg = Config.fromfile(distill_cfg)
    student = cfg.get('model', {}).get('student')
    if student is None:
        raise KeyError(f'{distill_cfg} has no `model.student`')
    model, scope = resolve_model_cfg(student, key='model.student')
    cfg.model = model
    if scope is not None:
        cfg.default_scope = scope
    imports = cfg.get('custom_imports', {}).get('imports', [])
    imports = [imports] if isinstance(imports, str) else list(imports)
    if 'custom_imports' in cfg and all(m.split('.')[0] == 'rlpkd' for m in imports):
        cfg.pop('custom_imports')
    return cfg


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(description='Export the student of a distiller')
    parser.add_argument('checkpoint', help='distillation checkpoint (mmengine format)')
    parser.add_argument('out', help='path of the student checkpoint to write')
    parser.add_argument('--config', help='distillation config, to derive a student config')
    parser.add_argument('--out-config', help='path of the student config (.py) to write')
    args = parser.parse_args(argv)
    if (args.config is None) != (args.out_config is None):
        parser.error('--config and --out-config go together')
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Export the student checkpoint and, if asked, its standalone config."""
    args = parse_args(argv)
    out = export_checkpoint(args.checkpoint, args.out)
    print(f'wrote {args.out} ({len(out["state_dict"])} student tensors)')
    if args.config is not None:
        student_config(args.config).dump(args.out_config)
        print(f'wrote {args.out_config}')


if __name__ == '__main__':
    main()
