"""A deterministic toy detection / instance segmentation dataset in COCO format.

Every image shows filled circles, squares and triangles (the three :data:`CLASSES`)
drawn with OpenCV in random colours that contrast with a random textured, noisy
background. Each image belongs to one *size group*, stored in its image record as
``"size_group"``, so that different levels of a feature pyramid (P2..P5, strides
4..32) matter for different images:

* ``small``: 3-6 objects whose longest side is 6-14 px,
* ``large``: 1-2 objects whose longest side is 45-90 % of the image side,
* ``mixed``: 1-2 large objects (45-60 % of the side) and 2-4 small ones.

Groups cycle ``small, large, mixed`` through each split, so all three appear in
equal shares (up to one image). Objects are placed by rejection sampling: a
placement is refused when its box has an IoU above :data:`MAX_IOU` with an earlier
box or when its pixels touch an earlier object. Nothing is occluded, so each box is
tight around the pixels drawn, ``area`` counts them and the polygon ``segmentation``
follows their pixel edges (rasterizing it gives back exactly the drawn pixels, and its
area is ``area``). The same files therefore serve detection (Faster R-CNN, boxes only)
and instance segmentation (Mask R-CNN, ``LoadAnnotations(with_mask=True)``).

Each image is drawn by its own ``numpy.random.default_rng((seed, split, index))``,
so train and val use different derived seeds, the output is byte-identical for the
same arguments, and the first ``n`` images do not depend on how many are asked for.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .common import check_args, check_out_dir, remove_stale_images, write_json, write_png

CLASSES = ('circle', 'square', 'triangle')
SIZE_GROUPS = ('small', 'large', 'mixed')
SPLITS = ('train', 'val')

SMALL_PX = (6.0, 14.0)  # longest side of a small object, pixels
LARGE_FRAC = {'large': (0.45, 0.90), 'mixed': (0.45, 0.60)}  # of the image side
# group: ((min, max) number of small objects, (min, max) number of large objects)
GROUP_COUNTS = {'small': ((3, 6), (0, 0)), 'large': ((0, 0), (1, 2)), 'mixed': ((2, 4), (1, 2))}
MAX_IOU = 0.1
MAX_TRIES = 100
MIN_RGB_DISTANCE, MIN_LUMA_DIFF = 120.0, 50.0

_VERTICES = {'circle': 32, 'square': 4, 'triangle': 3}  # regular polygons
_SHIFT = 4  # fixed-point bits of cv2.fillPoly vertices
_GAP_KERNEL = np.ones((3, 3), np.uint8)  # keeps a one-pixel gap between objects


@dataclass(frozen=True)
class ToyObject:
    """One drawn object.

    Attributes:
        label: Index into :data:`CLASSES`.
        mask: ``(H, W)`` boolean mask of the pixels drawn.
        outline: Flat ``[x1, y1, x2, y2, ...]`` polygon along the pixel edges of
            ``mask`` in COCO coordinates (pixel ``(i, j)`` covers ``[i, i+1) x [j, j+1)``),
            so rasterizing it gives back ``mask`` exactly.
    """

    label: int
    mask: np.ndarray
    outline: list[float]

    @property
    def bbox(self) -> list[float]:
        """Tight COCO box ``[x, y, w, h]`` around the drawn pixels."""
        ys, xs = np.nonzero(self.mask)
        x0, y0 = int(xs.min()), int(ys.min())
        return [float(x0), float(y0), float(xs.max() - x0 + 1), float(ys.max() - y0 + 1)]


def _iou(a: list[float], b: list[float]) -> float:
    """IoU of two ``[x, y, w, h]`` boxes."""
    iw = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    ih = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(iw, 0.0) * max(ih, 0.0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def _polygon(rng: np.random.Generator, label: int, size: float, img_size: int) -> np.ndarray:
    """Randomly rotated, placed regular polygon of ``label``, ``size`` px at its longest.

    Vertices are in pixel-centre coordinates and keep the polygon inside the image.
    """
    n = _VERTICES[CLASSES[label]]
    angles = rng.uniform(0.0, 2.0 * np.pi) + 2.0 * np.pi * np.arange(n) / n
    pts = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    pts -= pts.min(axis=0)
    pts *= (min(size, img_size) - 1.0) / pts.max()  # span between pixel centres
    pts += rng.uniform(0.0, img_size - 1.0 - pts.max(axis=0))  # per axis, stays inside
    return pts


def _rasterize(points: np.ndarray, img_size: int) -> np.ndarray:
    """Boolean mask of the pixels that ``cv2.fillPoly`` fills for ``points``."""
    canvas = np.zeros((img_size, img_size), np.uint8)
    fixed = np.round(points * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2)
    cv2.fillPoly(canvas, [fixed], 1, lineType=cv2.LINE_8, shift=_SHIFT)
    return canvas.astype(bool)


def _drop_collinear(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Remove repeated vertices, then vertices on a straight line, of a closed polygon."""
    pts = [p for i, p in enumerate(points) if p != points[i - 1]]
    return [p for i, p in enumerate(pts)
            if (p[0] - pts[i - 1][0]) * (pts[(i + 1) % len(pts)][1] - p[1])
            != (p[1] - pts[i - 1][1]) * (pts[(i + 1) % len(pts)][0] - p[0])]


def _outline(mask: np.ndarray) -> list[float] | None:
    """Exact pixel-edge outline of a mask with one run per row on consecutive rows.

    Returns ``None`` for an empty mask or one of any other form (a placement to reject).
    """
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0 or rows[-1] - rows[0] + 1 != rows.size:
        return None
    left = mask[rows].argmax(axis=1)
    right = mask.shape[1] - mask[rows, ::-1].argmax(axis=1)  # exclusive
    if int((right - left).sum()) != int(mask.sum()):
        return None
    down = [(int(a), int(y) + k) for y, a in zip(rows, left) for k in (0, 1)]
    up = [(int(b), int(y) + k) for y, b in zip(rows[::-1], right[::-1]) for k in (1, 0)]
    return [float(v) for point in _drop_collinear(down + up) for v in point]


def _sample_size(rng: np.random.Generator, kind: str, group: str, img_size: int) -> float:
    """Longest side, in pixels, of a ``kind`` (``'small'``/``'large'``) object."""
    if kind == 'small':
        return float(rng.uniform(*SMALL_PX))
    return float(rng.uniform(*LARGE_FRAC[group]) * img_size)


def _place(rng: np.random.Generator, kind: str, group: str, img_size: int,
           placed: list[ToyObject], occupied: np.ndarray,
           label: int | None = None) -> ToyObject | None:
    """Rejection-sample one object that neither touches nor heavily overlaps ``placed``.

    Its class is ``label``, or drawn at random when ``label`` is ``None``.
    """
    if label is None:
        label = int(rng.integers(len(CLASSES)))
    for _ in range(MAX_TRIES):
        size = _sample_size(rng, kind, group, img_size)
        points = _polygon(rng, label, size, img_size)
        mask = _rasterize(points, img_size)
        outline = _outline(mask) if not (mask & occupied).any() else None
        if outline is None:
            continue
        obj = ToyObject(label, mask, outline)
        if all(_iou(obj.bbox, other.bbox) <= MAX_IOU for other in placed):
            return obj
    return None


def _sample_objects(rng: np.random.Generator, group: str, img_size: int,
                    label: int | None = None) -> list[ToyObject]:
    """Objects of one image of size group ``group``; large ones are placed first.

    All objects are of class ``label``, or each of a random class when it is ``None``.
    """
    (s_lo, s_hi), (l_lo, l_hi) = GROUP_COUNTS[group]
    kinds = (['large'] * int(rng.integers(l_lo, l_hi + 1))
             + ['small'] * int(rng.integers(s_lo, s_hi + 1)))
    placed: list[ToyObject] = []
    occupied = np.zeros((img_size, img_size), bool)
    for kind in kinds:
        obj = _place(rng, kind, group, img_size, placed, occupied, label)
        if obj is not None:
            placed.append(obj)
            occupied |= cv2.dilate(obj.mask.astype(np.uint8), _GAP_KERNEL).astype(bool)
    return placed


def _background(rng: np.random.Generator, img_size: int) -> np.ndarray:
    """Random base colour plus two octaves of smooth texture and pixel noise (uint8 BGR)."""
    img = np.broadcast_to(rng.uniform(60.0, 190.0, size=3), (img_size, img_size, 3)).copy()
    for cells, amplitude in ((int(rng.integers(3, 9)), 22.0), (max(img_size // 8, 4), 8.0)):
        coarse = rng.standard_normal((cells, cells, 3)).astype(np.float32)
        img += amplitude * cv2.resize(coarse, (img_size, img_size),
                                      interpolation=cv2.INTER_CUBIC)
    img += rng.normal(0.0, 5.0, size=img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def _luma(bgr: np.ndarray) -> float:
    """Rec. 601 luma of a BGR colour."""
    return float(0.114 * bgr[0] + 0.587 * bgr[1] + 0.299 * bgr[2])


def _contrast_colour(rng: np.random.Generator, under: np.ndarray) -> np.ndarray:
    """Draw a colour far, in BGR and in luma, from the mean background colour ``under``."""
    for _ in range(MAX_TRIES):
        colour = rng.integers(0, 256, size=3).astype(np.float64)
        if (np.linalg.norm(colour - under) >= MIN_RGB_DISTANCE
                and abs(_luma(colour) - _luma(under)) >= MIN_LUMA_DIFF):
            return colour.astype(np.uint8)
    return np.full(3, 0 if _luma(under) >= 128 else 255, np.uint8)


def render_image(rng: np.random.Generator, group: str, img_size: int,
                 label: int | None = None) -> tuple[np.ndarray, list[ToyObject]]:
    """Draw one ``img_size`` x ``img_size`` BGR image of size group ``group``.

    Every object is of class ``label`` (an index into :data:`CLASSES`) when given;
    with ``None`` each object's class is random (and the output is unchanged from
    before ``label`` existed).
    """
    img = _background(rng, img_size)
    objects = _sample_objects(rng, group, img_size, label)
    for obj in objects:
        img[obj.mask] = _contrast_colour(rng, img[obj.mask].mean(axis=0))
    return img, objects


def _annotation(obj: ToyObject, ann_id: int, image_id: int) -> dict[str, Any]:
    """COCO annotation of ``obj``: tight box, pixel area and exact outline polygon."""
    return {'id': ann_id, 'image_id': image_id, 'category_id': obj.label + 1,
            'bbox': obj.bbox, 'area': float(obj.mask.sum()), 'iscrowd': 0,
            'segmentation': [obj.outline]}


def _write_split(out_dir: Path, split: str, num_images: int, img_size: int,
                 seed: int) -> dict[str, Any]:
    """Render and write one split; return its summary."""
    img_dir = out_dir / split
    img_dir.mkdir(parents=True, exist_ok=True)
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for index in range(num_images):
        image_id, group = index + 1, SIZE_GROUPS[index % len(SIZE_GROUPS)]
        rng = np.random.default_rng([seed, SPLITS.index(split), index])
        img, objects = render_image(rng, group, img_size)
        file_name = f'{image_id:06d}.png'
        write_png(img_dir / file_name, img)
        images.append({'id': image_id, 'file_name': file_name, 'width': img_size,
                       'height': img_size, 'size_group': group})
        annotations += [_annotation(obj, len(annotations) + k + 1, image_id)
                        for k, obj in enumerate(objects)]
    remove_stale_images(img_dir, num_images)
    ann_file = out_dir / 'annotations' / f'instances_{split}.json'
    write_json(ann_file, {
        'info': {'description': f'rlpkd toy shapes, {split} split, seed {seed}'},
        'licenses': [], 'images': images, 'annotations': annotations,
        'categories': [{'id': i + 1, 'name': name} for i, name in enumerate(CLASSES)]})
    groups = [img['size_group'] for img in images]
    return {'img_dir': str(img_dir), 'ann_file': str(ann_file),
            'num_images': len(images), 'num_annotations': len(annotations),
            'size_groups': {g: groups.count(g) for g in SIZE_GROUPS}}


def generate_toy_coco(out_dir: str | Path, num_train: int = 240, num_val: int = 60,
                      img_size: int = 128, seed: int = 0) -> dict[str, Any]:
    """Write a toy COCO detection dataset under ``out_dir``.

    Layout: ``train/*.png``, ``val/*.png`` and ``annotations/instances_{train,val}.json``
    (``file_name`` is relative to the split folder). Existing files are overwritten.

    Args:
        out_dir: Dataset root; created if missing.
        num_train: Number of training images (>= 1).
        num_val: Number of validation images (>= 1).
        img_size: Side of the square images in pixels (>= 32).
        seed: Non-negative base seed; the same arguments give byte-identical files.

    Returns:
        A summary: ``out_dir``, ``classes``, ``img_size``, ``seed`` and, per split
        (``'train'``, ``'val'``), ``img_dir``, ``ann_file``, ``num_images``,
        ``num_annotations`` and ``size_groups`` (images per size group).

    Raises:
        ValueError: If a count, size or seed is out of range; the message names it.
        TypeError: If one of them is not an integer; the message names it.
    """
    check_args(num_train, num_val, img_size, seed)
    root = check_out_dir(out_dir)
    (root / 'annotations').mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {'out_dir': str(root), 'classes': list(CLASSES),
                               'img_size': int(img_size), 'seed': int(seed)}
    for split, num in zip(SPLITS, (num_train, num_val)):
        summary[split] = _write_split(root, split, int(num), int(img_size), int(seed))
    return summary
