"""Train a model (or a distiller) from an mmengine config; MMDetection 3.x CLI semantics.

Usage: ``python tools/train.py CONFIG [--work-dir DIR] [--amp] [--auto-scale-lr]
[--resume [PATH]] [--trust-checkpoint] [--cfg-options k=v ...] [--launcher pytorch]``.
Checkpoints load without running code unless ``--trust-checkpoint`` is given
(:mod:`rlpkd.utils.checkpoint_io`).
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

from rlpkd.apis import check_annotation_files, cli


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(description='Train a model with rlpkd')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--amp', action='store_true', default=False,
                        help='enable automatic-mixed-precision training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='enable automatically scaling LR')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or, without a path, from the latest '
        'checkpoint in the work directory')
    cli.add_common_args(parser)
    return cli.parse_and_set_local_rank(parser, argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Run training as configured by ``argv``."""
    args = parse_args(argv)
    cfg = cli.load_config(args.config, args.work_dir, args.cfg_options, args.launcher)
    check_annotation_files(cfg, ('train_dataloader', 'val_dataloader'))
    if args.amp:
        cli.enable_amp(cfg)
    if args.auto_scale_lr:
        cli.enable_auto_scale_lr(cfg)
    cli.set_resume(cfg, args.resume)
    key = '--resume' if args.resume else 'load_from'
    with cli.checkpoint_guard(cfg, args.trust_checkpoint, key):
        cli.build_runner(cfg).train()
    cli.finish_distributed()


if __name__ == '__main__':
    main()
