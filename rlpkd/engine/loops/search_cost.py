"""SearchClock: the wall-clock cost of a run's phases, written as ``search_cost.json``.

One schema for every method, so that the search-cost column of a comparison counts
like with like: the NAS baselines' search phases (DARTS-LS, GDAS-LS, EA-LS) and
RL-PyramidKD's policy-learning phases are the *search* (a phase with a learner); the
other phases (warm-up, a phase that only trains the student) are *other*. Seconds are
the wall-clock of the loop's iterations (student step, learner work, the search's
held-out evaluations; not the validation loop), summed per phase; device-hours are
seconds × devices (ranks) / 3600. The clock travels in checkpoints, so a resumed run
continues it (the time between the last checkpoint and an interruption is not counted).
"""
from __future__ import annotations

import json
import os.path as osp
from typing import Dict

COST_FILE = 'search_cost.json'


class SearchClock:
    """Per-phase seconds and iterations; :meth:`summary` is the ``search_cost.json`` content."""

    def __init__(self) -> None:
        self.phases: Dict[str, dict] = {}

    def add(self, phase: str, search: bool, seconds: float) -> None:
        """Count one iteration of ``phase`` (``search``: a phase with a learner)."""
        entry = self.phases.setdefault(phase, dict(seconds=0.0, iterations=0,
                                                   search=bool(search)))
        entry['seconds'] += float(seconds)
        entry['iterations'] += 1

    def total(self, search: bool) -> dict:
        """``{'seconds', 'iterations'}`` summed over the search (or the other) phases."""
        chosen = [p for p in self.phases.values() if p['search'] == search]
        return dict(seconds=sum(p['seconds'] for p in chosen),
                    iterations=sum(p['iterations'] for p in chosen))

    def summary(self, devices: int) -> dict:
        """``search_seconds``, ``search_iterations``, ``search_device_hours``, the same
        for ``other_*`` and ``total_*``, ``devices`` and the per-phase ``phases``."""
        search, other = self.total(True), self.total(False)
        out = dict(devices=int(devices))
        for kind, part in (('search', search), ('other', other),
                           ('total', dict(seconds=search['seconds'] + other['seconds'],
                                          iterations=search['iterations']
                                          + other['iterations']))):
            out.update({f'{kind}_seconds': part['seconds'],
                        f'{kind}_iterations': part['iterations'],
                        f'{kind}_device_hours': part['seconds'] * devices / 3600})
        out['phases'] = {name: dict(p) for name, p in self.phases.items()}
        return out

    def write(self, work_dir: str, devices: int) -> str:
        """Write :meth:`summary` to ``work_dir/search_cost.json``; returns the path."""
        path = osp.join(work_dir, COST_FILE)
        with open(path, 'w') as f:
            json.dump(self.summary(devices), f, indent=2)
        return path

    def state_dict(self) -> dict:
        return {name: dict(p) for name, p in self.phases.items()}

    def load_state_dict(self, state: dict) -> None:
        self.phases = {name: dict(p) for name, p in state.items()}
