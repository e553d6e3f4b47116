"""Pre-flight checks of a config, run by the tools before anything is built.

The datasets of the OpenMMLab packages fail late and cryptically on a missing or
empty annotation file (``need at least one array to concatenate``); these checks
fail first and name the config key and the file.
"""
from __future__ import annotations

import json
import os.path as osp

from mmengine.config import Config

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
PARSE_LIMIT = 64 * 2 ** 20  # larger JSON files are left to the dataset to parse


def check_annotation_files(cfg: Config, phases=DATALOADERS) -> None:
    """Raise if an ``ann_file`` of the given dataloaders is missing or holds no sample.

    Checks local files only (a remote ``backend_args`` or URL is left alone) and,
    for COCO-style JSON up to 64 MiB, that ``images`` (and, for training,
    ``annotations``) is not empty.
    """
    for phase in phases:
        dataset = (cfg.get(phase) or {}).get('dataset') or {}
        ann_file = dataset.get('ann_file')
        if not ann_file or dataset.get('backend_args') or '://' in str(ann_file):
            continue
        key = f'{phase}.dataset.ann_file'
        path = osp.join(dataset.get('data_root') or '', ann_file)
        if not osp.isfile(path):
            raise FileNotFoundError(f'`{key}`: no such file: {path}')
        if osp.getsize(path) == 0:
            raise ValueError(f'`{key}`: {path} is empty')
        if path.endswith('.json') and osp.getsize(path) <= PARSE_LIMIT:
            with open(path) as f:
                content = json.load(f)
            fields = ('images', 'annotations') if phase == 'train_dataloader' else ('images',)
            for field in fields:
                if isinstance(content, dict) and field in content and not content[field]:
                    raise ValueError(f'`{key}`: {path} has no {field}')
