"""The toy teacher of a task, trained once per teacher config and data, and cached.

The demo, ``tools/benchmark.py`` and the studies all distil from the task's toy teacher.
Training it is the dearest step of a toy run, so a trained teacher is kept in a cache
directory under a key of what made it: the resolved teacher config (bases included),
the ``--cfg-options`` it was trained with (with the data root replaced by a placeholder,
so that the same toy data anywhere shares the teacher) and the bytes of the data files
it trained on (``TaskSetup.train_files``). Same key, same teacher: the training is
deterministic up to the machine's floating point.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Callable, Optional, Sequence, Tuple

from mmengine.config import Config

from .launch import run_tool
from .plan import TaskSetup

#: where the tools keep trained toy teachers between runs
DEFAULT_CACHE = Path.home() / '.cache' / 'rlpkd' / 'teachers'


def teacher_key(task: TaskSetup, data: Path, options: Sequence[str]) -> str:
    """12 hex digits of the SHA-1 of the teacher config, ``options`` and the data files."""
    key = hashlib.sha1(Config.fromfile(task.path(task.teacher)).pretty_text.encode())
    key.update('\n'.join(o.replace(str(data), '<data>') for o in options).encode())
    for path in sorted(data.glob(task.train_files)):
        key.update(path.read_bytes())
    return key.hexdigest()[:12]


def cached_teacher(task: TaskSetup, data: Path, cache: Path, work: Path,
                   on_progress: Optional[Callable[[str], None]] = None,
                   options: Sequence[str] = ()) -> Tuple[Path, Optional[float]]:
    """The task's toy teacher on ``data``: ``cache/toy-teacher-<task>-<key>.pth`` when it
    exists (seconds ``None``), else trained into ``work`` with the task's data options,
    seed 0 and ``options`` (e.g. a longer schedule; part of the key), copied into the
    cache, and its training seconds.

    Raises:
        rlpkd.benchmarking.ToolError: the training failed (the log is named).
    """
    data, cache = data.resolve(), cache.resolve()  # the tools run from the repository root
    options = [*task.data_options(data), 'randomness.seed=0', *options]
    cached = cache / f'toy-teacher-{task.key}-{teacher_key(task, data, options)}.pth'
    if cached.exists():
        return cached.resolve(), None
    seconds = run_tool('train.py', [task.path(task.teacher), '--work-dir', work,
                                    '--cfg-options', *options], work / 'train.log', on_progress)
    cache.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f'.{os.getpid()}.part')  # a kill mid-copy leaves no teacher
    shutil.copy(Path((work / 'last_checkpoint').read_text().strip()), partial)
    os.replace(partial, cached)
    return cached.resolve(), seconds
