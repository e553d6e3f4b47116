"""Generate small synthetic datasets for quick experiments and tests.

Usage: ``python tools/make_toy_data.py TASK [--out DIR] [--num-train N] [--num-val N]
[--img-size S] [--seed S]`` with TASK one of

* ``det``: COCO-format detection with exact instance masks (``data/toy_coco``; the
  Faster R-CNN and the Mask R-CNN toy configs both read it),
* ``seg``: ADE20K-style image + label-map folders (``data/toy_ade``),
* ``cls``: ImageNet-style class folders + ``meta/*.txt`` lists (``data/toy_folder``).

Each task is a subcommand that registers its own arguments and handler
(:func:`add_det_parser`, :func:`add_seg_parser`, :func:`add_cls_parser`).
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

from rlpkd.datasets import generate_toy_ade, generate_toy_coco, generate_toy_folder

Handler = Callable[[argparse.Namespace], dict[str, Any]]
SEG_DEFAULTS = (600, 90)     # train / val images of the toy segmentation data
CLS_DEFAULTS = (1800, 300)   # train / val images of the toy classification data


def _run_det(args: argparse.Namespace) -> dict[str, Any]:
    """Write the toy COCO detection dataset described by ``args``."""
    return generate_toy_coco(args.out, num_train=args.num_train, num_val=args.num_val,
                             img_size=args.img_size, seed=args.seed)


def _run_seg(args: argparse.Namespace) -> dict[str, Any]:
    """Write the toy ADE20K-style segmentation dataset described by ``args``."""
    return generate_toy_ade(args.out, num_train=args.num_train, num_val=args.num_val,
                            img_size=args.img_size, seed=args.seed)


def _run_cls(args: argparse.Namespace) -> dict[str, Any]:
    """Write the toy ImageNet-style classification dataset described by ``args``."""
    return generate_toy_folder(args.out, num_train=args.num_train, num_val=args.num_val,
                               img_size=args.img_size, seed=args.seed)


def _add_common(parser: argparse.ArgumentParser, out: str, num_train: int, num_val: int,
                img_size: int, handler: Handler) -> None:
    """The arguments every task shares, with that task's defaults."""
    parser.add_argument('--out', default=out, help='output dataset root')
    parser.add_argument('--num-train', type=int, default=num_train, help='training images')
    parser.add_argument('--num-val', type=int, default=num_val, help='validation images')
    parser.add_argument('--img-size', type=int, default=img_size,
                        help='image side in pixels')
    parser.add_argument('--seed', type=int, default=0, help='base random seed (>= 0)')
    parser.set_defaults(handler=handler)


def add_det_parser(subparsers: Any) -> None:
    """Register the ``det`` subcommand (COCO-format shapes, see ``rlpkd.datasets``)."""
    parser = subparsers.add_parser(
        'det', help='COCO-format detection / instance segmentation dataset of filled shapes',
        description='Write train/, val/ and annotations/instances_{train,val}.json '
        '(boxes and exact polygon masks: detection and instance segmentation).')
    _add_common(parser, 'data/toy_coco', 240, 60, 128, _run_det)


def add_seg_parser(subparsers: Any) -> None:
    """Register the ``seg`` subcommand (ADE20K-style folders, ``rlpkd.datasets.toy_ade``)."""
    parser = subparsers.add_parser(
        'seg', help='ADE20K-style semantic segmentation dataset of filled shapes',
        description='Write images/{training,validation}/ and annotations/{training,'
        'validation}/ (label PNGs, 0 = ignored), and size_groups.json.')
    _add_common(parser, 'data/toy_ade', SEG_DEFAULTS[0], SEG_DEFAULTS[1], 64, _run_seg)


def add_cls_parser(subparsers: Any) -> None:
    """Register the ``cls`` subcommand (ImageNet-style, ``rlpkd.datasets.toy_folder``)."""
    parser = subparsers.add_parser(
        'cls', help='ImageNet-style classification dataset of filled shapes',
        description='Write {train,val}/<class>/*.png, meta/{train,val}.txt and '
        'size_groups.json.')
    _add_common(parser, 'data/toy_folder', CLS_DEFAULTS[0], CLS_DEFAULTS[1], 64, _run_cls)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser, with one subcommand per task."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest='task', required=True, metavar='TASK')
    add_det_parser(subparsers)
    add_seg_parser(subparsers)
    add_cls_parser(subparsers)
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
