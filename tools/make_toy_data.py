"""Generate small synthetic datasets for quick experiments and tests.

Usage: ``python tools/make_toy_data.py det --out data/toy_coco [--num-train N]
[--num-val N] [--img-size S] [--seed S]``.

Each task is a subcommand that registers its own arguments and handler
(:func:`add_det_parser`); further tasks plug in the same way.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

try:
    import rlpkd  # noqa: F401
except ImportError:  # run from a checkout without ``pip install``
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlpkd.datasets import generate_toy_coco

Handler = Callable[[argparse.Namespace], dict[str, Any]]


def _run_det(args: argparse.Namespace) -> dict[str, Any]:
    """Write the toy COCO detection dataset described by ``args``."""
    return generate_toy_coco(args.out, num_train=args.num_train, num_val=args.num_val,
                             img_size=args.img_size, seed=args.seed)


def add_det_parser(subparsers: Any) -> None:
    """Register the ``det`` subcommand (COCO-format shapes, see ``rlpkd.datasets``)."""
    parser = subparsers.add_parser(
        'det', help='COCO-format detection dataset of filled shapes',
        description='Write train/, val/ and annotations/instances_{train,val}.json.')
    parser.add_argument('--out', default='data/toy_coco', help='output dataset root')
    parser.add_argument('--num-train', type=int, default=240, help='training images')
    parser.add_argument('--num-val', type=int, default=60, help='validation images')
    parser.add_argument('--img-size', type=int, default=128, help='image side in pixels')
    parser.add_argument('--seed', type=int, default=0, help='base random seed (>= 0)')
    parser.set_defaults(handler=_run_det)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser, with one subcommand per task."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest='task', required=True, metavar='TASK')
    add_det_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Generate the dataset chosen by ``argv``, print its summary as JSON, return it."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        summary = handler(args)
    except ValueError as err:
        parser.error(str(err))  # exits with status 2
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == '__main__':
    main()
