"""Tests of the toy ADE20K-style generator :mod:`rlpkd.datasets.toy_ade` and its CLI."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from rlpkd.datasets import SEG_CLASSES, SIZE_GROUPS, generate_toy_ade

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs' / '_base_' / 'datasets' / 'toy_ade_segmentation.py'
NUM, SIZE = 6, 64


@pytest.fixture(scope='module')
def toy_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp('toy_ade')
    generate_toy_ade(root, num_train=NUM, num_val=3, img_size=SIZE, seed=0)
    return root


def test_layout_and_summary(tmp_path: Path) -> None:
    summary = generate_toy_ade(tmp_path, num_train=4, num_val=3, img_size=48, seed=1)
    assert summary['classes'] == list(SEG_CLASSES)
    assert summary['val']['size_groups'] == {'small': 1, 'large': 1, 'mixed': 1}
    images = sorted(p.name for p in (tmp_path / 'images' / 'training').iterdir())
    labels = sorted(p.name for p in (tmp_path / 'annotations' / 'training').iterdir())
    assert images == labels == [f'ADE_train_{i:08d}.png' for i in range(1, 5)]
    assert len(list((tmp_path / 'annotations' / 'validation').glob('ADE_val_*.png'))) == 3
    groups = json.loads((tmp_path / 'size_groups.json').read_text())
    assert groups['train']['ADE_train_00000002'] == 'large'
    assert sum(summary['train']['pixels'].values()) == 4 * 48 * 48


def test_label_maps(toy_root: Path) -> None:
    """0 only on object boundaries, 1 background, 2-4 shapes, objects sized by group."""
    groups = json.loads((toy_root / 'size_groups.json').read_text())['train']
    for stem, group in groups.items():
        labels = cv2.imread(str(toy_root / 'annotations' / 'training' / f'{stem}.png'),
                            cv2.IMREAD_UNCHANGED)
        image = cv2.imread(str(toy_root / 'images' / 'training' / f'{stem}.png'))
        assert labels.dtype == np.uint8 and labels.shape == (SIZE, SIZE)
        assert image.shape == (SIZE, SIZE, 3)
        assert set(np.unique(labels)) <= {0, 1, 2, 3, 4}
        shapes = labels >= 2
        assert shapes.any()
        # every ignored pixel touches an object
        near = cv2.dilate(shapes.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        assert near[labels == 0].all()
        biggest = max(int((labels == v).sum()) for v in (2, 3, 4))
        if group == 'small':
            assert biggest <= 6 * 14 * 14
        elif group == 'large':
            assert biggest >= (0.3 * SIZE) ** 2


def test_deterministic_and_prefix_stable(toy_root: Path, tmp_path: Path) -> None:
    generate_toy_ade(tmp_path, num_train=NUM + 2, num_val=3, img_size=SIZE, seed=0)
    generate_toy_ade(tmp_path, num_train=2, num_val=3, img_size=SIZE, seed=0)
    for name in ('images/training/ADE_train_00000002.png',
                 'annotations/training/ADE_train_00000001.png',
                 'annotations/validation/ADE_val_00000003.png'):
        assert (toy_root / name).read_bytes() == (tmp_path / name).read_bytes(), name
    assert len(list((tmp_path / 'images' / 'training').iterdir())) == 2  # stale removed
    assert len(list((tmp_path / 'annotations' / 'training').iterdir())) == 2


@pytest.mark.bad_input
def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match='img_size'):
        generate_toy_ade(tmp_path, img_size=8)
    with pytest.raises(TypeError, match='num_val'):
        generate_toy_ade(tmp_path, num_val=1.5)
    with pytest.raises(ValueError, match='out_dir'):
        generate_toy_ade('')


def test_loads_with_mmseg_dataset_of_the_toy_config(toy_root: Path) -> None:
    """The config's BaseSegDataset reads it; reduce_zero_label maps 0 -> 255, 1.. -> 0.."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmseg.registry import DATASETS

    cfg = Config.fromfile(str(CONFIG)).train_dataloader.dataset
    cfg.data_root = str(toy_root)
    with DefaultScope.overwrite_default_scope('mmseg'):  # restored for later tests
        dataset = DATASETS.build(cfg)
    assert len(dataset) == NUM
    assert dataset.metainfo['classes'] == SEG_CLASSES
    sample = dataset[0]
    gt = sample['data_samples'].gt_sem_seg.data
    assert sample['inputs'].shape == (3, SIZE, SIZE) and gt.shape == (1, SIZE, SIZE)
    assert set(gt.unique().tolist()) <= {0, 1, 2, 3, 255} and (gt == 255).any()


def test_cli(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'make_toy_data.py'), 'seg', '--out',
         str(tmp_path), '--num-train', '3', '--num-val', '2', '--img-size', '40'],
        capture_output=True, text=True, check=True).stdout
    summary = json.loads(out)
    assert summary['train']['num_images'] == 3 and summary['img_size'] == 40
    assert set(summary['train']['size_groups']) == set(SIZE_GROUPS)
    bad = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'make_toy_data.py'), 'seg', '--out',
         str(tmp_path), '--img-size', '8'], capture_output=True, text=True)
    assert bad.returncode == 2 and 'img_size' in bad.stderr
