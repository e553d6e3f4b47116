"""Turn a distillation checkpoint into a plain checkpoint (and config) of the student::

    python tools/export_student.py work_dirs/kd/epoch_12.pth student.pth \\
        --config configs/kd.py --out-config student_cfg.py

The exported checkpoint loads with the student's own package (``load_from=student.pth``);
the exported config needs no rlpkd (:mod:`rlpkd.apis.export`). The checkpoint is read
without running code unless ``--trust-checkpoint`` is given.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

try:  # importing rlpkd registers its components
    import rlpkd
except ImportError:  # run from a checkout without ``pip install``
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import rlpkd  # noqa: F401

from rlpkd.apis.cli import add_trust_arg, read_config
from rlpkd.apis.export import export_checkpoint, student_config
from rlpkd.utils.checkpoint_io import checkpoint_keys, trusted_checkpoints


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(description='Export the student of a distiller')
    parser.add_argument('checkpoint', help='distillation checkpoint (mmengine format)')
    parser.add_argument('out', help='path of the student checkpoint to write')
    parser.add_argument('--config', help='distillation config, to derive a student config')
    parser.add_argument('--out-config', help='path of the student config (.py) to write')
    add_trust_arg(parser)
    args = parser.parse_args(argv)
    if (args.config is None) != (args.out_config is None):
        parser.error('--config and --out-config go together')
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Export the student checkpoint and, if asked, its standalone config."""
    args = parse_args(argv)
    # the config first: a config that cannot be exported leaves no half-done export
    cfg = None if args.config is None else student_config(args.config)
    trusted = args.trust_checkpoint or (
        args.config is not None and read_config(args.config).get('trust_checkpoint') is True)
    with trusted_checkpoints(trusted), checkpoint_keys({args.checkpoint: 'CHECKPOINT'}):
        out = export_checkpoint(args.checkpoint, args.out)
    print(f'wrote {args.out} ({len(out["state_dict"])} student tensors)')
    if cfg is not None:
        Path(args.out_config).parent.mkdir(parents=True, exist_ok=True)
        cfg.dump(args.out_config)
        print(f'wrote {args.out_config}')


if __name__ == '__main__':
    main()
