"""What a learned selector decides on a test set, and how sample-adaptive that is."""
from __future__ import annotations

import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from rlpkd.registry import METRICS

from .adaptivity import adaptivity


@METRICS.register_module()
class LevelSelectionMetric(BaseMetric):
    """Per-level selection rates, distillation-cost fraction and adaptivity of a
    selector's deterministic decisions, from the ``level_selection`` / ``used_cost`` that
    :class:`rlpkd.models.PyramidDistiller` attaches to each prediction.

    Metrics (prefix ``selection/``): ``rate_<level>``, ``cost_fraction``, and
    (:func:`rlpkd.evaluation.adaptivity.adaptivity`) ``distinct_subsets``,
    ``subset_entropy`` (bits), ``cost_std``; with ``group_file`` also ``group_mi`` (bits,
    mutual information between decisions and group) and ``rate_<level>/<group>``.

    Args:
        level_names: names of the levels, in order (for the metric keys).
        dump_file: optional JSON Lines file with one ``{"image", "levels", "used_cost"
            [, "group"]}`` record per image, for later analysis.
        group_file: optional JSON that gives each test image a group (an attribute such
            as the toy data's size group): a COCO annotation file whose ``images``
            entries carry ``group_key`` (matched by image id), or a mapping
            ``{image: group}`` / ``{split: {image: group}}`` (the toy ADE20K / folder
            data's ``size_groups.json``; matched by relative path, file name or stem).
        group_key: the field of a COCO image entry that holds the group.
        split: the split of a ``{split: {image: group}}`` file.
        collect_device, prefix: as :class:`mmengine.evaluator.BaseMetric`.
    """

    default_prefix = 'selection'

    def __init__(self, level_names: Sequence[str] = ('P2', 'P3', 'P4', 'P5'),
                 dump_file: Optional[str] = None, group_file: Optional[str] = None,
                 group_key: str = 'size_group', split: str = 'val',
                 collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.level_names = tuple(level_names)
        self.dump_file = dump_file
        self.groups = load_groups(group_file, group_key, split) if group_file else None

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'level_selection' not in sample:
                raise KeyError('LevelSelectionMetric: predictions carry no `level_selection`;'
                               ' the model must be a PyramidDistiller with a learned selector')
            record = dict(image=sample.get('img_path', sample.get('img_id')),
                          levels=[float(v) for v in sample['level_selection']],
                          used_cost=float(sample.get('used_cost', float('nan'))))
            if self.groups is not None:
                record['group'] = find_group(self.groups, sample.get('img_id'),
                                             sample.get('img_path'))
            self.results.append(record)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        levels = np.array([r['levels'] for r in results])
        if levels.shape[1] != len(self.level_names):
            raise ValueError(f'LevelSelectionMetric.level_names has {len(self.level_names)} '
                             f'names but the selector decides {levels.shape[1]} levels')
        costs = np.array([r['used_cost'] for r in results])
        metrics = {f'rate_{n}': float(levels[:, i].mean())
                   for i, n in enumerate(self.level_names)}
        metrics['cost_fraction'] = float(costs.mean())
        groups = [r.get('group') for r in results] if self.groups is not None else None
        metrics.update(adaptivity(levels, costs, self.level_names, groups))
        if self.dump_file:
            with open(self.dump_file, 'w') as f:
                for r in results:
                    f.write(json.dumps(dict(r, image=str(r['image']))) + '\n')
        return metrics


def load_groups(path: str, group_key: str, split: str) -> Dict[str, str]:
    """``{image key: group}`` from a COCO annotation file or a (split) mapping; keys are
    image ids (as strings) and file names as written in the file."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'`LevelSelectionMetric.group_file`: no such file: {path}')
    with open(path) as f:
        data = json.load(f)
    if isinstance(data, dict) and isinstance(data.get('images'), list):  # COCO
        groups = {}
        for image in data['images']:
            if group_key in image:
                groups[str(image['id'])] = groups[image['file_name']] = image[group_key]
        if not groups:
            raise KeyError(f'`LevelSelectionMetric.group_key`: no image of {path} has '
                           f'{group_key!r}')
        return groups
    if isinstance(data, dict) and isinstance(data.get(split), dict):
        data = data[split]
    if not isinstance(data, dict) or not data:
        raise ValueError(f'`LevelSelectionMetric.group_file` {path}: expected a COCO file, '
                         f'{{image: group}} or {{split: {{image: group}}}}')
    return {str(k): v for k, v in data.items()}


def find_group(groups: Dict[str, str], img_id, img_path: Optional[str]) -> Optional[str]:
    """The group of an image: by id, then by a key that its path ends with, file name
    or stem; ``None`` if the file does not list it."""
    if img_id is not None and str(img_id) in groups:
        return groups[str(img_id)]
    if img_path is None:
        return None
    path = str(img_path).replace('\\', '/')
    name = osp.basename(path)
    for key in (name, osp.splitext(name)[0]):
        if key in groups:
            return groups[key]
    return next((g for k, g in groups.items() if path.endswith('/' + k)), None)
