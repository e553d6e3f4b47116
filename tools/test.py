"""Test (and evaluate) a checkpoint with an mmengine config; MMDetection 3.x CLI semantics.

Usage: ``python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out preds.pkl]
[--trust-checkpoint] [--cfg-options k=v ...] [--launcher pytorch]``. The metrics are
printed as one line ``metrics: {...json...}`` and written to ``<work_dir>/metrics.json``.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

try:  # importing rlpkd registers its components
    import rlpkd
except ImportError:  # run from a checkout without ``pip install``
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import rlpkd  # noqa: F401

from mmengine.dist import is_main_process

from rlpkd.apis import check_annotation_files, cli


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model with rlpkd')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', type=str,
                        help='dump predictions to a pickle file for offline evaluation')
    cli.add_common_args(parser)
    return cli.parse_and_set_local_rank(parser, argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the test loop as configured by ``argv``; return its metrics."""
    args = parse_args(argv)
    cfg = cli.load_config(args.config, args.work_dir, args.cfg_options, args.launcher)
    check_annotation_files(cfg, ('test_dataloader',))
    cfg.load_from = args.checkpoint
    if args.out is not None:
        cli.add_dump_results(cfg, args.out)
    with cli.checkpoint_guard(cfg, args.trust_checkpoint, 'CHECKPOINT'):
        runner = cli.build_runner(cfg)
        metrics = runner.test()
    if is_main_process():
        print('metrics: ' + cli.save_metrics(metrics, runner.work_dir), flush=True)
    cli.finish_distributed()
    return metrics


if __name__ == '__main__':
    main()
