"""What a learned selector decides on a test set."""
from __future__ import annotations

import json
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from rlpkd.registry import METRICS


@METRICS.register_module()
class LevelSelectionMetric(BaseMetric):
    """Per-level selection rates and distillation-cost fraction of a selector's
    deterministic decisions, from the ``level_selection`` / ``used_cost`` that
    :class:`rlpkd.models.PyramidDistiller` attaches to each prediction.

    Args:
        level_names: names of the levels, in order (for the metric keys).
        dump_file: optional JSON Lines file with one ``{"img_path"|"img_id", "levels",
            "used_cost"}`` record per image, for later analysis.
        collect_device, prefix: as :class:`mmengine.evaluator.BaseMetric`.
    """

    default_prefix = 'selection'

    def __init__(self, level_names: Sequence[str] = ('P2', 'P3', 'P4', 'P5'),
                 dump_file: Optional[str] = None, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.level_names = tuple(level_names)
        self.dump_file = dump_file

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'level_selection' not in sample:
                raise KeyError('LevelSelectionMetric: predictions carry no `level_selection`;'
                               ' the model must be a PyramidDistiller with a learned selector')
            self.results.append(dict(
                image=sample.get('img_path', sample.get('img_id')),
                levels=[float(v) for v in sample['level_selection']],
                used_cost=float(sample.get('used_cost', float('nan')))))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        levels = np.array([r['levels'] for r in results])
        if levels.shape[1] != len(self.level_names):
            raise ValueError(f'LevelSelectionMetric.level_names has {len(self.level_names)} '
                             f'names but the selector decides {levels.shape[1]} levels')
        metrics = {f'rate_{n}': float(levels[:, i].mean())
                   for i, n in enumerate(self.level_names)}
        metrics['cost_fraction'] = float(np.mean([r['used_cost'] for r in results]))
        if self.dump_file:
            with open(self.dump_file, 'w') as f:
                for r in results:
                    f.write(json.dumps(dict(r, image=str(r['image']))) + '\n')
        return metrics
