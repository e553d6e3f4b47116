"""Tests of the toy COCO generator :mod:`rlpkd.datasets.toy_coco` and its CLI."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rlpkd.datasets import CLASSES, SIZE_GROUPS, generate_toy_coco

REPO = Path(__file__).resolve().parents[2]
NUM_IMAGES = 12
IMG_SIZE = 128


def _load(root: Path, split: str) -> dict[str, Any]:
    return json.loads((root / 'annotations' / f'instances_{split}.json').read_text())


@pytest.fixture(scope='module')
def toy_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Write a small dataset shared by the read-only tests of this module."""
    root = tmp_path_factory.mktemp('toy_coco')
    generate_toy_coco(root, num_train=NUM_IMAGES, num_val=NUM_IMAGES, img_size=IMG_SIZE)
    return root


def test_summary(tmp_path: Path) -> None:
    summary = generate_toy_coco(tmp_path, num_train=4, num_val=3, img_size=64, seed=1)
    assert summary['classes'] == list(CLASSES)
    assert summary['train']['num_images'] == 4
    assert summary['val']['size_groups'] == {'small': 1, 'large': 1, 'mixed': 1}
    assert Path(summary['train']['ann_file']).is_file()
    assert len(list((tmp_path / 'val').glob('*.png'))) == 3


def test_deterministic(toy_root: Path, tmp_path: Path) -> None:
    generate_toy_coco(tmp_path, num_train=NUM_IMAGES, num_val=NUM_IMAGES, img_size=IMG_SIZE)
    names = ['annotations/instances_train.json', 'annotations/instances_val.json',
             'train/000001.png', 'train/000005.png', 'train/000012.png', 'val/000003.png']
    for name in names:
        assert (toy_root / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_seed_and_split_change_output(toy_root: Path, tmp_path: Path) -> None:
    generate_toy_coco(tmp_path, num_train=1, num_val=1, img_size=IMG_SIZE, seed=1)
    first = (toy_root / 'train' / '000001.png').read_bytes()
    assert first != (toy_root / 'val' / '000001.png').read_bytes()
    assert first != (tmp_path / 'train' / '000001.png').read_bytes()


def test_prefix_stable_and_stale_images_removed(toy_root: Path, tmp_path: Path) -> None:
    generate_toy_coco(tmp_path, num_train=5, num_val=1, img_size=IMG_SIZE)
    generate_toy_coco(tmp_path, num_train=3, num_val=1, img_size=IMG_SIZE)
    assert sorted(p.name for p in (tmp_path / 'train').iterdir()) == [
        '000001.png', '000002.png', '000003.png']
    for name in ('000001.png', '000003.png'):
        assert ((toy_root / 'train' / name).read_bytes()
                == (tmp_path / 'train' / name).read_bytes())


@pytest.mark.parametrize('split', ['train', 'val'])
def test_size_groups(toy_root: Path, split: str) -> None:
    coco = _load(toy_root, split)
    groups = [img['size_group'] for img in coco['images']]
    assert sorted(set(groups)) == sorted(SIZE_GROUPS)
    counts = [groups.count(g) for g in SIZE_GROUPS]
    assert max(counts) - min(counts) <= 1
    sides: dict[int, list[float]] = {img['id']: [] for img in coco['images']}
    for ann in coco['annotations']:
        sides[ann['image_id']].append(max(ann['bbox'][2:]))
    for img in coco['images']:
        small = [s for s in sides[img['id']] if s <= 15]
        large = [s for s in sides[img['id']] if s >= 0.4 * IMG_SIZE]
        assert len(small) + len(large) == len(sides[img['id']])
        expected = {'small': (3, 0), 'large': (0, 1), 'mixed': (2, 1)}[img['size_group']]
        assert len(small) >= expected[0] and len(large) >= expected[1]
        if img['size_group'] != 'mixed':
            assert not (small and large)


@pytest.mark.parametrize('split', ['train', 'val'])
def test_coco_records(toy_root: Path, split: str) -> None:
    coco = _load(toy_root, split)
    assert coco['categories'] == [{'id': i + 1, 'name': n} for i, n in enumerate(CLASSES)]
    images = {img['id']: img for img in coco['images']}
    assert len(images) == NUM_IMAGES
    for img in images.values():
        assert img['file_name'] == f"{img['id']:06d}.png"
        assert (toy_root / split / img['file_name']).is_file()
        assert img['width'] == img['height'] == IMG_SIZE
    ann_ids = [ann['id'] for ann in coco['annotations']]
    assert len(set(ann_ids)) == len(ann_ids) and min(ann_ids) == 1
    for ann in coco['annotations']:
        x, y, w, h = ann['bbox']
        img = images[ann['image_id']]
        assert all(isinstance(v, float) for v in ann['bbox'])
        assert w >= 3 and h >= 3
        assert x >= 0 and y >= 0 and x + w <= img['width'] and y + h <= img['height']
        assert 0 < ann['area'] <= w * h
        assert ann['iscrowd'] == 0 and 1 <= ann['category_id'] <= len(CLASSES)
        assert len(ann['segmentation']) == 1 and len(ann['segmentation'][0]) >= 6


def test_segmentation_matches_bbox_and_area(toy_root: Path) -> None:
    """Each polygon rasterizes (pycocotools) to exactly the box and area of the annotation."""
    coco_api = pytest.importorskip('pycocotools.coco')
    coco = coco_api.COCO(str(toy_root / 'annotations' / 'instances_train.json'))
    for ann in coco.dataset['annotations']:
        ys, xs = np.nonzero(coco.annToMask(ann))
        mask_box = [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        assert [float(v) for v in mask_box] == ann['bbox']
        assert len(xs) == ann['area']


def _shoelace(flat: list[float]) -> float:
    """Area of the simple polygon ``[x1, y1, x2, y2, ...]``."""
    xs, ys = np.asarray(flat[0::2]), np.asarray(flat[1::2])
    return 0.5 * abs(float(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1))))


@pytest.mark.parametrize('split', ['train', 'val'])
def test_instance_masks_match_area_and_lie_in_box(toy_root: Path, split: str) -> None:
    """The instance masks (outline polygons): area == ``area``, vertices inside ``bbox``.

    The outlines follow the pixel edges of the drawn shapes, so the polygon area is the
    pixel count exactly and the polygon spans its tight box from edge to edge.
    """
    coco = _load(toy_root, split)
    assert coco['annotations']
    for ann in coco['annotations']:
        (polygon,) = ann['segmentation']
        assert _shoelace(polygon) == ann['area'], ann['id']
        x, y, w, h = ann['bbox']
        xs, ys = polygon[0::2], polygon[1::2]
        assert x <= min(xs) and max(xs) <= x + w and y <= min(ys) and max(ys) <= y + h
        assert (min(xs), max(xs), min(ys), max(ys)) == (x, x + w, y, y + h)  # tight


def test_boxes_tight_on_pixels(toy_root: Path) -> None:
    """The flat fill colour of each shape touches all four box sides and never leaves the box."""
    cv2 = pytest.importorskip('cv2')
    coco = _load(toy_root, 'val')
    for img in coco['images']:
        pixels = cv2.imread(str(toy_root / 'val' / img['file_name']))
        for ann in (a for a in coco['annotations'] if a['image_id'] == img['id']):
            x, y, w, h = (int(v) for v in ann['bbox'])
            box = pixels[y:y + h, x:x + w].reshape(-1, 3)
            colours, counts = np.unique(box, axis=0, return_counts=True)
            fill = colours[counts.argmax()]  # the shape dominates its box
            inside = np.all(pixels[y:y + h, x:x + w] == fill, axis=-1)
            assert inside[0].any() and inside[-1].any()
            assert inside[:, 0].any() and inside[:, -1].any()
            assert np.all(pixels == fill, axis=-1).sum() == inside.sum() == ann['area']


def test_mmdet_coco_dataset_loads(toy_root: Path) -> None:
    datasets = pytest.importorskip('mmdet.datasets')
    ds = datasets.CocoDataset(
        data_root=str(toy_root), ann_file='annotations/instances_train.json',
        data_prefix={'img': 'train/'}, metainfo={'classes': CLASSES}, pipeline=[])
    assert len(ds) == NUM_IMAGES
    item = ds[0]
    coco = _load(toy_root, 'train')
    expected = [a for a in coco['annotations'] if a['image_id'] == item['img_id']]
    assert Path(item['img_path']).is_file()
    assert len(item['instances']) == len(expected) > 0
    for inst, ann in zip(item['instances'], expected):
        x, y, w, h = ann['bbox']
        assert inst['bbox'] == pytest.approx([x, y, x + w, y + h])
        assert inst['bbox_label'] == ann['category_id'] - 1
        assert inst['ignore_flag'] == 0


def test_mmdet_loads_the_instance_masks(toy_root: Path) -> None:
    """mmdet's ``LoadAnnotations(with_mask=True)`` gives each shape's drawn pixels."""
    datasets = pytest.importorskip('mmdet.datasets')
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='mmdet.LoadAnnotations', with_bbox=True, with_mask=True)]
    ds = datasets.CocoDataset(
        data_root=str(toy_root), ann_file='annotations/instances_val.json',
        data_prefix={'img': 'val/'}, metainfo={'classes': CLASSES}, pipeline=pipeline)
    coco = _load(toy_root, 'val')
    for index in range(3):
        item = ds[index]
        expected = [a for a in coco['annotations'] if a['image_id'] == item['img_id']]
        masks = item['gt_masks'].to_ndarray()
        assert masks.shape == (len(expected), IMG_SIZE, IMG_SIZE)
        assert [int(m.sum()) for m in masks] == [a['area'] for a in expected]


def test_cocoeval_ground_truth_as_detections(toy_root: Path) -> None:
    coco_api = pytest.importorskip('pycocotools.coco')
    cocoeval = pytest.importorskip('pycocotools.cocoeval')
    gt = coco_api.COCO(str(toy_root / 'annotations' / 'instances_val.json'))
    dets = [{'image_id': a['image_id'], 'category_id': a['category_id'], 'bbox': a['bbox'],
             'score': 1.0} for a in gt.dataset['annotations']]
    evaluator = cocoeval.COCOeval(gt, gt.loadRes(dets), 'bbox')
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    assert evaluator.stats[0] == pytest.approx(1.0)
    assert evaluator.stats[1] == pytest.approx(1.0)


@pytest.mark.parametrize('kwargs, name', [
    ({'num_train': 0}, 'num_train'), ({'num_val': -1}, 'num_val'),
    ({'img_size': 16}, 'img_size'), ({'seed': -3}, 'seed')])
def test_out_of_range_arguments(tmp_path: Path, kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        generate_toy_coco(tmp_path, **kwargs)
    assert not (tmp_path / 'annotations').exists()


@pytest.mark.parametrize('kwargs, name', [
    ({'img_size': 64.0}, 'img_size'), ({'num_train': True}, 'num_train'),
    ({'seed': '1'}, 'seed')])
def test_non_integer_arguments(tmp_path: Path, kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(TypeError, match=name):
        generate_toy_coco(tmp_path, **kwargs)


def test_cli(tmp_path: Path) -> None:
    script = str(REPO / 'tools' / 'make_toy_data.py')
    out = tmp_path / 'toy'
    done = subprocess.run(
        [sys.executable, script, 'det', '--out', str(out), '--num-train', '3',
         '--num-val', '3', '--img-size', '64', '--seed', '2'],
        cwd=REPO, capture_output=True, text=True, check=True)
    summary = json.loads(done.stdout)
    assert summary['train']['num_images'] == 3 and summary['seed'] == 2
    assert (out / 'annotations' / 'instances_val.json').is_file()
    bad = subprocess.run([sys.executable, script, 'det', '--out', str(out), '--img-size', '8'],
                         cwd=REPO, capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and 'img_size' in bad.stderr
