"""Adds the retrain of a searched level subset to the search's cost file."""
from __future__ import annotations

import json
import os.path as osp
import time
from typing import Optional

from mmengine.hooks import Hook

from rlpkd.engine.loops.search_cost import COST_FILE, SearchClock
from rlpkd.registry import HOOKS
from rlpkd.utils.dist import world_size


@HOOKS.register_module()
class RetrainCostHook(Hook):
    """Time this run's training iterations as phase ``retrain`` and write
    ``work_dir/search_cost.json``: the search's cost file (next to the
    ``search_result.json`` that ``model.selector.levels_from`` names) with the retrain
    added, so one file has the search, its warm-up and the retrain (``phases``;
    ``retrain_seconds`` / ``retrain_iterations`` / ``retrain_device_hours``; ``total_*``
    over all three). Seconds as :class:`rlpkd.engine.loops.SearchClock` counts them
    (iterations, not validation); the clock travels in checkpoints (``--resume``).

    Used by the NAS retrain configs (``configs/nas/*-retrain_*.py``). Without a search
    cost file next to the result, only the retrain is written (with a warning in the log).
    """

    priority = 'LOW'

    def __init__(self) -> None:
        self.clock = SearchClock()
        self._started: Optional[float] = None

    def before_train(self, runner) -> None:
        levels_from = runner.cfg.get('model', {}).get('selector', {}).get('levels_from')
        path = osp.join(osp.dirname(str(levels_from)), COST_FILE) if levels_from else None
        if path and osp.isfile(path) and 'retrain' not in self.clock.phases:
            with open(path) as f:
                self.clock.load_state_dict(json.load(f)['phases'])
        elif not (path and osp.isfile(path)):
            runner.logger.warning(f'RetrainCostHook: no {COST_FILE} next to '
                                  f'model.selector.levels_from ({levels_from}); '
                                  f'{COST_FILE} will hold the retrain only')

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._started = time.perf_counter()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self.clock.add('retrain', False, time.perf_counter() - self._started)

    def after_train(self, runner) -> None:
        summary = self.clock.summary(world_size())
        retrain = summary['phases'].get('retrain', dict(seconds=0.0, iterations=0))
        summary.update(retrain_seconds=retrain['seconds'],
                       retrain_iterations=retrain['iterations'],
                       retrain_device_hours=retrain['seconds'] * summary['devices'] / 3600)
        with open(osp.join(runner.work_dir, COST_FILE), 'w') as f:
            json.dump(summary, f, indent=2)
        runner.logger.info(f'search + retrain cost written to {runner.work_dir}/{COST_FILE}')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['retrain_cost'] = self.clock.state_dict()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if 'retrain_cost' in checkpoint:
            self.clock.load_state_dict(checkpoint['retrain_cost'])
