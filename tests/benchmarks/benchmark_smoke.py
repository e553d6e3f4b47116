"""Helpers of the smoke tests of ``benchmarks/*.py`` (imported by file name, as
``tests/engine/nas_runs.py``)."""
from __future__ import annotations

import copy
import math
import runpy
import sys
from pathlib import Path

import torch
from mmengine.registry import DefaultScope

from rlpkd.testing import build_from_config

ROOT = Path(__file__).resolve().parents[2]


def run(script: str, *args) -> None:
    """``benchmarks/<script>.py args`` in this process (as ``__main__``, with its own
    ``sys.argv``): torch, mmengine and mmdet are imported once for all the scripts."""
    path = ROOT / 'benchmarks' / f'{script}.py'
    saved = sys.argv
    sys.argv = [str(path), *map(str, args)]
    try:
        runpy.run_path(str(path), run_name='__main__')
    finally:
        sys.argv = saved


def finite(*values) -> bool:
    """Every value a finite int / float (not a bool, not None)."""
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
               for v in values)


def table_rows(md: str) -> list:
    """The rows of the Markdown tables in ``md`` (header rows included, the ``|---``
    rules not), each a list of its cells."""
    return [[c.strip() for c in line.strip().strip('|').split(' | ')]
            for line in md.splitlines()
            if line.startswith('| ') and not line.startswith('|---')]


def untrained_teacher(task, path: Path) -> Path:
    """Write a checkpoint of ``task``'s toy teacher (a :class:`TaskSetup`) at its initial
    weights, as the task's uniform-KD distiller builds the teacher: a real teacher for
    runs whose numbers a smoke test does not read, without the time of training one."""
    saved = copy.copy(DefaultScope._instance_dict)  # building sets the default scope
    try:
        torch.manual_seed(0)
        teacher = build_from_config(task.path(task.uniform)).teacher
    finally:
        DefaultScope._instance_dict = saved
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(dict(state_dict=teacher.state_dict()), path)
    return path
