"""A deterministic toy image-classification dataset in ImageNet's folder layout.

Every image shows filled shapes of one class only (circle, square or triangle,
:data:`CLS_CLASSES`) drawn by :func:`rlpkd.datasets.toy_coco.render_image`, in one of
the size groups ``small`` (3-6 shapes of 6-14 px), ``large`` (1-2 shapes of 45-90 % of
the side) or ``mixed``, so that a fine pyramid level matters for some images and a
coarse one for others. Image ``i`` (from 0) has class ``i mod 3`` and size group
``(i div 3) mod 3``: every class appears in every group in equal shares. Layout::

    train/<class>/000001.png        val/<class>/000004.png ...
    meta/train.txt                  "circle/000001.png 0" per line (ImageNet's list)
    meta/val.txt
    size_groups.json                {split: {relative path: size group}}

mmpretrain's ``ImageNet`` (``split='train'``) and ``CustomDataset`` both read it.
Each image is drawn by its own ``numpy.random.default_rng((seed, 2, split, index))``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .common import check_args, check_out_dir, remove_stale_images, write_json, write_png
from .toy_coco import CLASSES, SIZE_GROUPS, render_image

CLS_CLASSES = CLASSES
SPLITS = ('train', 'val')
_STREAM = 2  # separates this generator's random streams from the other toy datasets


def sample_class_and_group(index: int) -> tuple[int, str]:
    """Class index and size group of image ``index`` (0-based) of a split."""
    return index % len(CLS_CLASSES), SIZE_GROUPS[(index // len(CLS_CLASSES)) % len(SIZE_GROUPS)]


def _write_split(root: Path, split: str, num_images: int, img_size: int,
                 seed: int) -> dict[str, Any]:
    """Render and write one split; return its summary."""
    for name in CLS_CLASSES:
        (root / split / name).mkdir(parents=True, exist_ok=True)
    lines, groups = [], {}
    for index in range(num_images):
        label, group = sample_class_and_group(index)
        rng = np.random.default_rng([seed, _STREAM, SPLITS.index(split), index])
        img, _ = render_image(rng, group, img_size, label=label)
        rel = f'{CLS_CLASSES[label]}/{index + 1:06d}.png'
        write_png(root / split / rel, img)
        lines.append(f'{rel} {label}\n')
        groups[rel] = group
    for name in CLS_CLASSES:
        remove_stale_images(root / split / name, num_images)
    ann_file = root / 'meta' / f'{split}.txt'
    ann_file.write_text(''.join(lines))
    labels = [int(line.split()[1]) for line in lines]
    return {'img_dir': str(root / split), 'ann_file': str(ann_file),
            'num_images': num_images,
            'classes': {n: labels.count(i) for i, n in enumerate(CLS_CLASSES)},
            'size_groups': {g: list(groups.values()).count(g) for g in SIZE_GROUPS},
            'groups': groups}


def generate_toy_folder(out_dir: str | Path, num_train: int = 1800, num_val: int = 300,
                        img_size: int = 64, seed: int = 0) -> dict[str, Any]:
    """Write a toy ImageNet-style classification dataset under ``out_dir``.

    Args:
        out_dir: Dataset root (``data_root`` of the config); created if missing.
        num_train: Number of training images (>= 1).
        num_val: Number of validation images (>= 1).
        img_size: Side of the square images in pixels (>= 32).
        seed: Non-negative base seed; the same arguments give byte-identical files.

    Returns:
        A summary: ``out_dir``, ``classes``, ``img_size``, ``seed`` and, per split
        (``'train'``, ``'val'``), ``img_dir``, ``ann_file``, ``num_images``,
        ``classes`` (images per class) and ``size_groups`` (images per group).

    Raises:
        ValueError: If a count, size or seed is out of range; the message names it.
        TypeError: If one of them is not an integer; the message names it.
    """
    check_args(num_train, num_val, img_size, seed)
    root = check_out_dir(out_dir)
    (root / 'meta').mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {'out_dir': str(root), 'classes': list(CLS_CLASSES),
                               'img_size': int(img_size), 'seed': int(seed)}
    groups: dict[str, dict[str, str]] = {}
    for split, num in zip(SPLITS, (num_train, num_val)):
        summary[split] = _write_split(root, split, int(num), int(img_size), int(seed))
        groups[split] = summary[split].pop('groups')
    write_json(root / 'size_groups.json', groups)
    return summary
