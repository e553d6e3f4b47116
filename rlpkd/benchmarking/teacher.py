"""The toy teacher of a task: trained once per teacher config and data, cached, tested,
and checked to be worth distilling.

The demo, ``tools/benchmark.py`` and the studies all distil from the task's toy teacher.
Training it is the dearest step of a toy run, so a trained teacher is kept in a cache
directory under a key of what made it: the resolved teacher config (bases included),
the ``--cfg-options`` it was trained with (with the data root replaced by a placeholder,
so that the same toy data anywhere shares the teacher) and the bytes of the data files
it trained on (``TaskSetup.train_files``). Same key, same teacher: the training is
deterministic up to the machine's floating point.

A teacher no better than its student alone has no knowledge to give: distillation from it
measures regularisation. :func:`check_teacher` refuses such a teacher
(:class:`TeacherStrength` holds the numbers; ``tools/benchmark.py`` checks every teacher).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
from dataclasses import dataclass
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


def teacher_metrics(task: TaskSetup, teacher: Path, data: Path, work: Path) -> dict:
    """The teacher's test metrics on ``data`` (``tools/test.py`` with the task's data
    options, run once: kept in ``work/teacher_test_<stem>-<key>/metrics.json``, the key
    hashing the checkpoint's path, size and modification time and the data root).

    Raises:
        rlpkd.benchmarking.ToolError: the test failed (the log is named).
    """
    stat = teacher.resolve().stat()
    key = hashlib.sha1(f'{teacher.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|'
                       f'{data.resolve()}'.encode()).hexdigest()[:8]
    out = (work / f'teacher_test_{teacher.stem}-{key}').resolve()
    if not (out / 'metrics.json').exists():
        run_tool('test.py', [task.path(task.teacher), teacher, '--work-dir', out,
                             '--cfg-options', *task.data_options(data)], out / 'test.log')
    return json.loads((out / 'metrics.json').read_text())


class WeakTeacherError(ValueError):
    """The teacher is not clearly stronger than its student alone (see
    :func:`check_teacher`)."""


@dataclass(frozen=True)
class TeacherStrength:
    """The teacher's main metric against the student alone's over seeds.

    ``clear``: the teacher is above the student alone's mean by more than twice the
    students' seed-to-seed (sample) standard deviation; with one seed, above it at all.
    """

    metric: str
    teacher: float
    students: Tuple[float, ...]

    @property
    def mean(self) -> float:
        return statistics.mean(self.students)

    @property
    def std(self) -> float:
        return statistics.stdev(self.students) if len(self.students) > 1 else 0.0

    @property
    def clear(self) -> bool:
        return self.teacher > self.mean + 2 * self.std

    def summary(self) -> str:
        """One sentence naming the numbers and the verdict."""
        verdict = 'clearly stronger' if self.clear else 'NOT clearly stronger'
        return (f'teacher {self.metric} {self.teacher:.3f} on the test set vs the student '
                f'alone\'s {self.mean:.3f} ± {self.std:.3f} ({len(self.students)} '
                f'seed{"s" if len(self.students) > 1 else ""}): '
                f'{verdict} (the test: teacher > mean + 2 std)')


def check_teacher(strength: TeacherStrength, allow_weak: bool = False) -> None:
    """Refuse to compare distillation methods with a teacher that is not clearly stronger
    than its student alone: whatever they measure is then regularisation, not knowledge.

    Raises:
        WeakTeacherError: unless ``allow_weak``: not ``strength.clear`` (the message names
            the numbers and ``--allow-weak-teacher``), or no student-alone score (every
            student-alone run failed).
    """
    if allow_weak:
        return
    if not strength.students:
        raise WeakTeacherError('the teacher check needs the student alone: every '
                               'student-alone run failed (see its log)')
    if not strength.clear:
        raise WeakTeacherError(
            f'{strength.summary()}. Distil from a stronger teacher (trained longer or on more '
            'data: --teacher CKPT), or compare anyway with --allow-weak-teacher')
