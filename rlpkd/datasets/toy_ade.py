"""A deterministic toy semantic-segmentation dataset in ADE20K's folder layout.

The images are those of :mod:`rlpkd.datasets.toy_coco` (filled circles, squares and
triangles on texture, in ``small`` / ``large`` / ``mixed`` size groups cycling through
each split, so that different pyramid levels matter for different images); each comes
with a label map instead of COCO boxes. Layout, as ``ADEChallengeData2016``::

    images/training/ADE_train_00000001.png          BGR image
    annotations/training/ADE_train_00000001.png     uint8 label map
    images/validation/ADE_val_00000001.png
    annotations/validation/ADE_val_00000001.png
    size_groups.json                                {split: {file stem: size group}}

Label values follow ADE20K's convention that 0 is "unlabelled": 0 marks a one-pixel
ring around every object (its boundary, ignored), 1 is the background and 2, 3, 4 are
circle, square, triangle. Loading with ``reduce_zero_label=True`` (as mmseg does for
ADE20K) maps 0 to the ignore index 255 and the rest to the training classes
:data:`SEG_CLASSES` = ``('background', 'circle', 'square', 'triangle')``.

Each image is drawn by its own ``numpy.random.default_rng((seed, 1, split, index))``:
the output is byte-identical for the same arguments and the first ``n`` images do
not depend on how many are asked for.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .common import check_args, check_out_dir, remove_stale_images, write_json, write_png
from .toy_coco import CLASSES, SIZE_GROUPS, ToyObject, render_image

SEG_CLASSES = ('background',) + CLASSES
# RGB colours of SEG_CLASSES, for mmseg's visualiser.
SEG_PALETTE = ((120, 120, 120), (220, 20, 60), (0, 142, 230), (250, 170, 30))
IGNORED, BACKGROUND = 0, 1  # label values before reduce_zero_label
SPLITS = {'train': 'training', 'val': 'validation'}  # split -> ADE20K folder name
_STREAM = 1  # separates this generator's random streams from the other toy datasets
_RING_KERNEL = np.ones((3, 3), np.uint8)


def label_map(objects: list[ToyObject], img_size: int) -> np.ndarray:
    """``(H, W)`` uint8 label map of ``objects`` (values as in the module docstring)."""
    labels = np.full((img_size, img_size), BACKGROUND, np.uint8)
    for obj in objects:
        grown = cv2.dilate(obj.mask.astype(np.uint8), _RING_KERNEL).astype(bool)
        labels[grown & ~obj.mask] = IGNORED
    for obj in objects:  # objects never touch, so no ring covers another object
        labels[obj.mask] = obj.label + 2
    return labels


def _write_split(root: Path, split: str, num_images: int, img_size: int,
                 seed: int) -> dict[str, Any]:
    """Render and write one split; return its summary."""
    folder, prefix = SPLITS[split], f'ADE_{split}_'
    img_dir, ann_dir = root / 'images' / folder, root / 'annotations' / folder
    img_dir.mkdir(parents=True, exist_ok=True)
    ann_dir.mkdir(parents=True, exist_ok=True)
    groups: dict[str, str] = {}
    pixels = np.zeros(len(SEG_CLASSES) + 1, np.int64)  # label values 0..4
    for index in range(num_images):
        group = SIZE_GROUPS[index % len(SIZE_GROUPS)]
        rng = np.random.default_rng([seed, _STREAM, list(SPLITS).index(split), index])
        img, objects = render_image(rng, group, img_size)
        labels = label_map(objects, img_size)
        stem = f'{prefix}{index + 1:08d}'
        write_png(img_dir / f'{stem}.png', img)
        write_png(ann_dir / f'{stem}.png', labels)
        groups[stem] = group
        pixels += np.bincount(labels.ravel(), minlength=pixels.size)
    for folder_path in (img_dir, ann_dir):
        remove_stale_images(folder_path, num_images, prefix=prefix, digits=8)
    names = ('ignored',) + SEG_CLASSES
    return {'img_dir': str(img_dir), 'ann_dir': str(ann_dir), 'num_images': num_images,
            'size_groups': {g: list(groups.values()).count(g) for g in SIZE_GROUPS},
            'pixels': dict(zip(names, pixels.tolist())), 'groups': groups}


def generate_toy_ade(out_dir: str | Path, num_train: int = 600, num_val: int = 90,
                     img_size: int = 64, seed: int = 0) -> dict[str, Any]:
    """Write a toy ADE20K-style segmentation dataset under ``out_dir``.

    Args:
        out_dir: Dataset root (``data_root`` of the config); created if missing.
        num_train: Number of training images (>= 1).
        num_val: Number of validation images (>= 1).
        img_size: Side of the square images in pixels (>= 32).
        seed: Non-negative base seed; the same arguments give byte-identical files.

    Returns:
        A summary: ``out_dir``, ``classes`` (after ``reduce_zero_label``), ``img_size``,
        ``seed`` and, per split (``'train'``, ``'val'``), ``img_dir``, ``ann_dir``,
        ``num_images``, ``size_groups`` (images per group) and ``pixels`` (pixels per
        label, ``'ignored'`` first).

    Raises:
        ValueError: If a count, size or seed is out of range; the message names it.
        TypeError: If one of them is not an integer; the message names it.
    """
    check_args(num_train, num_val, img_size, seed)
    root = check_out_dir(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {'out_dir': str(root), 'classes': list(SEG_CLASSES),
                               'img_size': int(img_size), 'seed': int(seed)}
    stems: dict[str, dict[str, str]] = {}
    for split, num in zip(SPLITS, (num_train, num_val)):
        summary[split] = _write_split(root, split, int(num), int(img_size), int(seed))
        stems[split] = summary[split].pop('groups')
    write_json(root / 'size_groups.json', stems)
    return summary
