"""Tests of the toy ImageNet-style generator :mod:`rlpkd.datasets.toy_folder` and its CLI."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from rlpkd.datasets import CLS_CLASSES, generate_toy_folder

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs' / '_base_' / 'datasets' / 'toy_folder_classification.py'
NUM, SIZE = 9, 64


@pytest.fixture(scope='module')
def toy_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp('toy_folder')
    generate_toy_folder(root, num_train=NUM, num_val=3, img_size=SIZE, seed=0)
    return root


def test_layout_summary_and_list(toy_root: Path) -> None:
    lines = (toy_root / 'meta' / 'train.txt').read_text().splitlines()
    assert lines[:3] == ['circle/000001.png 0', 'square/000002.png 1', 'triangle/000003.png 2']
    for line in lines:
        rel, label = line.split()
        assert rel.split('/')[0] == CLS_CLASSES[int(label)]
        assert cv2.imread(str(toy_root / 'train' / rel)).shape == (SIZE, SIZE, 3)
    assert sorted(p.name for p in (toy_root / 'val').iterdir()) == sorted(CLS_CLASSES)
    groups = json.loads((toy_root / 'size_groups.json').read_text())['train']
    # class i mod 3, size group (i div 3) mod 3: all 9 combinations in 9 images
    assert {(rel.split('/')[0], g) for rel, g in groups.items()} == {
        (c, g) for c in CLS_CLASSES for g in ('small', 'large', 'mixed')}


def test_summary(tmp_path: Path) -> None:
    summary = generate_toy_folder(tmp_path, num_train=6, num_val=3, img_size=48, seed=2)
    assert summary['classes'] == list(CLS_CLASSES)
    assert summary['train']['classes'] == {'circle': 2, 'square': 2, 'triangle': 2}
    assert summary['val']['size_groups'] == {'small': 3, 'large': 0, 'mixed': 0}


def test_one_class_per_image(toy_root: Path) -> None:
    """Large-group images hold big shapes, small-group ones only small shapes."""
    from rlpkd.datasets.toy_coco import render_image

    for label in range(3):
        for group in ('small', 'large'):
            _, objects = render_image(np.random.default_rng(label), group, SIZE, label=label)
            assert objects and {o.label for o in objects} == {label}
            sides = [max(o.bbox[2], o.bbox[3]) for o in objects]
            assert max(sides) <= 15 if group == 'small' else max(sides) >= 0.4 * SIZE


def test_deterministic_and_prefix_stable(toy_root: Path, tmp_path: Path) -> None:
    generate_toy_folder(tmp_path, num_train=NUM + 3, num_val=3, img_size=SIZE, seed=0)
    generate_toy_folder(tmp_path, num_train=4, num_val=3, img_size=SIZE, seed=0)
    for name in ('train/circle/000001.png', 'train/circle/000004.png',
                 'val/triangle/000003.png'):
        assert (toy_root / name).read_bytes() == (tmp_path / name).read_bytes(), name
    assert len(list((tmp_path / 'train').rglob('*.png'))) == 4  # stale removed
    assert len((tmp_path / 'meta' / 'train.txt').read_text().splitlines()) == 4


@pytest.mark.bad_input
def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match='num_train'):
        generate_toy_folder(tmp_path, num_train=0)
    with pytest.raises(TypeError, match='seed'):
        generate_toy_folder(tmp_path, seed='0')


def test_loads_with_mmpretrain_imagenet_of_the_toy_config(toy_root: Path) -> None:
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS

    cfg = Config.fromfile(str(CONFIG))
    for key, num in (('train_dataloader', NUM), ('val_dataloader', 3)):
        dataset_cfg = cfg[key].dataset
        dataset_cfg.data_root = str(toy_root)
        with DefaultScope.overwrite_default_scope('mmpretrain'):  # restored afterwards
            dataset = DATASETS.build(dataset_cfg)
        assert len(dataset) == num
        assert dataset.metainfo['classes'] == CLS_CLASSES
        assert [dataset.get_data_info(i)['gt_label'] for i in range(3)] == [0, 1, 2]
        assert dataset[1]['inputs'].shape == (3, SIZE, SIZE)
    from mmpretrain.datasets import CustomDataset  # the plain folder reader agrees
    folder = CustomDataset(data_root=str(toy_root), data_prefix='train', with_label=True)
    assert folder.metainfo['classes'] == CLS_CLASSES and len(folder) == NUM


def test_cli(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'make_toy_data.py'), 'cls', '--out',
         str(tmp_path), '--num-train', '3', '--num-val', '3', '--img-size', '40'],
        capture_output=True, text=True, check=True).stdout
    assert json.loads(out)['val']['num_images'] == 3
    assert (tmp_path / 'meta' / 'val.txt').is_file()
