"""Pre-flight checks name the config key and the file."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

from rlpkd.apis import check_annotation_files

ROOT = Path(__file__).resolve().parents[2]
STUDENT_CFG = ROOT / 'configs' / 'faster_rcnn' / 'faster-rcnn_r18-w16_fpn_toy-coco.py'


def coco_cfg(root: Path) -> Config:
    cfg = Config.fromfile(str(STUDENT_CFG))
    for phase in ('train', 'val', 'test'):
        cfg[f'{phase}_dataloader'].dataset.data_root = f'{root}/'
    return cfg


def write_coco(root: Path, split: str, images=1, annotations=1) -> None:
    (root / 'annotations').mkdir(parents=True, exist_ok=True)
    content = dict(images=[dict(id=i, file_name=f'{i}.png', width=8, height=8)
                           for i in range(images)],
                   annotations=[dict(id=i, image_id=0, category_id=1, bbox=[0, 0, 4, 4],
                                     area=16, iscrowd=0) for i in range(annotations)],
                   categories=[dict(id=1, name='circle')])
    (root / 'annotations' / f'instances_{split}.json').write_text(json.dumps(content))


@pytest.mark.bad_input
def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'train_dataloader.dataset.ann_file.*'
                                                r'instances_train.json'):
        check_annotation_files(coco_cfg(tmp_path))


@pytest.mark.bad_input
def test_empty_images_and_annotations(tmp_path):
    write_coco(tmp_path, 'train', images=0, annotations=0)
    write_coco(tmp_path, 'val')
    with pytest.raises(ValueError, match=r'train_dataloader.dataset.ann_file.*has no images'):
        check_annotation_files(coco_cfg(tmp_path))
    write_coco(tmp_path, 'train', images=2, annotations=0)
    with pytest.raises(ValueError, match=r'has no annotations'):
        check_annotation_files(coco_cfg(tmp_path))
    write_coco(tmp_path, 'train')
    check_annotation_files(coco_cfg(tmp_path))  # passes


def test_zero_byte_file(tmp_path):
    write_coco(tmp_path, 'train')
    (tmp_path / 'annotations' / 'instances_val.json').write_text('')
    with pytest.raises(ValueError, match=r'val_dataloader.dataset.ann_file.*is empty'):
        check_annotation_files(coco_cfg(tmp_path))


@pytest.mark.bad_input
def test_train_tool_fails_before_building(tmp_path):
    write_coco(tmp_path, 'train', images=0, annotations=0)
    proc = subprocess.run(
        [sys.executable, str(ROOT / 'tools' / 'train.py'), str(STUDENT_CFG),
         '--work-dir', str(tmp_path / 'wd'), '--cfg-options',
         f'train_dataloader.dataset.data_root={tmp_path}/'],
        capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode != 0
    assert 'train_dataloader.dataset.ann_file' in proc.stderr
    assert 'instances_train.json has no images' in proc.stderr
