"""One benchmark of one task: data, teacher, every run of the plan, the tables.

``tools/benchmark.py`` is the command line over :func:`run_benchmark`; the outputs in
the work directory are ``results.json`` (one record per run, see
:func:`rlpkd.benchmarking.runner.execute`; read by ``tools/analyze_policy.py
--benchmark``), ``tables.md`` and ``tables.json``, rewritten after every run.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, List, Optional, Sequence

from .launch import run_tool
from .plan import Method, TaskSetup, methods
from .progress import PlanProgress
from .runner import RunContext, execute, finished
from .tables import failures_markdown, table_json, table_markdown, task_tables, wall_s
from .teacher import TeacherStrength, cached_teacher, check_teacher, teacher_metrics

#: the teacher's test metric against the student alone's (:func:`teacher_strength`)
TEACHER = 'teacher.json'


def prepare_data(task: TaskSetup, root: Path, data: Optional[Path], suffix: str = '') -> Path:
    """``data`` when given (must exist), else the task's toy data generated (once,
    deterministically) under ``root/data<suffix>``.

    Raises:
        FileNotFoundError: ``--data`` does not exist.
    """
    if data is not None:
        if not data.is_dir():
            raise FileNotFoundError(f'--data: no directory {data}')
        return data.resolve()
    out = (root / f'data{suffix}').resolve()
    if not (out / '.complete').exists():
        run_tool('make_toy_data.py', [task.data_cmd, '--out', out], root / f'data{suffix}.log')
        (out / '.complete').touch()
    return out


def prepare_teacher(task: TaskSetup, root: Path, data: Path, teacher: Optional[Path],
                    progress: PlanProgress, suffix: str = '',
                    cache: Optional[Path] = None, options: Sequence[str] = ()) -> Path:
    """``teacher`` when given (must exist), else the task's toy teacher from ``cache``
    (default: ``root/teacher<suffix>``), trained there once if it is not, with the extra
    ``--cfg-options`` ``options`` (:func:`rlpkd.benchmarking.teacher.cached_teacher`).

    Raises:
        FileNotFoundError: ``--teacher`` does not exist.
    """
    if teacher is not None:
        if not teacher.is_file():
            raise FileNotFoundError(f'--teacher{suffix and " / --meta-teacher"}: no '
                                    f'checkpoint {teacher}')
        return teacher.resolve()
    work = (root / f'teacher{suffix}').resolve()  # the tools run from the repository root
    progress.status(f'the teacher ({task.teacher})')
    return cached_teacher(task, data, cache or work, work, progress.status, options)[0]


def header(task: TaskSetup, seeds: Sequence[int], command: str, records: List[dict],
           root: Path) -> str:
    total = sum(r.get('run_s') or wall_s(r) or 0.0 for r in records)
    strength = json.loads((root / TEACHER).read_text()).get('summary') \
        if (root / TEACHER).exists() else None
    return (f'## {task.title}\n\nToy-scale CPU runs (2 cores), seeds {list(seeds)}, made '
            f'by `{command}`; the {len(records)} runs took {total / 60:.0f} min (sum of '
            'their wall times, each measured when it ran; finished runs are reused). '
            'mean ± std over seeds; "distill cost": the fraction of the distillation '
            'FLOPs spent (the learned policy\'s on the test set, the NAS subset\'s; 1 = '
            'every level). "RL-PyramidKD (full)": the task\'s RL config + GradNorm, '
            'λ = 0.5.' + (f' The {strength}.' if strength else '') + '\n\n')


def write_outputs(task: TaskSetup, root: Path, records: List[dict], seeds: Sequence[int],
                  command: str) -> str:
    """Write ``results.json``, ``tables.json``, ``tables.md``; returns the Markdown."""
    tables = task_tables(task, records)
    text = header(task, seeds, command, records, root) + '\n'.join(
        table_markdown(t, records) for t in tables) + '\n' + failures_markdown(records)
    (root / 'results.json').write_text(json.dumps(records, indent=1))
    (root / 'tables.json').write_text(json.dumps(
        {t.name: table_json(t, records) for t in tables}, indent=1))
    (root / 'tables.md').write_text(text)
    return text


def run_plan(task: TaskSetup, plan: Sequence[Method], seeds: Sequence[int], root: Path,
             data: Optional[Path] = None, teacher: Optional[Path] = None,
             options: Sequence[str] = (), live: Optional[bool] = None,
             after_run: Optional[Callable[[List[dict]], object]] = None,
             cache: Optional[Path] = None, teacher_check: Optional[str] = None
             ) -> List[dict]:
    """Run (or reuse) every ``plan`` method with every seed under ``root`` (seed by seed);
    returns the records (a failed run is recorded, and the others go on).
    ``after_run(records)`` is called after every run; ``cache``: where the toy teacher is
    looked up and kept when no ``teacher`` is given (:func:`prepare_teacher`).

    ``teacher_check``: ``'refuse'`` or ``'report'`` runs the task's student alone first
    (every seed, added to the plan when missing), then tests the teacher against it
    (:func:`teacher_strength`, ``root/teacher.json``) before any other run; ``'refuse'``
    stops there when the teacher is not clearly stronger
    (:func:`rlpkd.benchmarking.teacher.check_teacher`). None: no check.

    Raises:
        rlpkd.benchmarking.teacher.WeakTeacherError: with ``'refuse'``, the teacher is
            not clearly stronger than the student alone.
        ValueError: another ``teacher_check``.
    """
    if teacher_check not in (None, 'refuse', 'report'):
        raise ValueError(f"teacher_check: 'refuse', 'report' or None, not {teacher_check!r}")
    root = root.resolve()  # the tools run from the repository root
    root.mkdir(parents=True, exist_ok=True)
    first: List[Method] = []
    if teacher_check is not None:
        first = [next(m for m in methods(task) if m.family == 'student')]
        plan = [m for m in plan if m.key != first[0].key]
    order = [*((m, s) for m in first for s in seeds), *((m, s) for s in seeds for m in plan)]
    records: List[dict] = []
    with PlanProgress(len(order), live=live) as progress:
        data = prepare_data(task, root, data)
        teacher = prepare_teacher(task, root, data, teacher, progress, cache=cache)
        ctx = RunContext(task, root, data, teacher, options, progress.status)
        for i, (method, seed) in enumerate(order):
            records.append(run_one(ctx, method, seed, progress))
            if after_run is not None:
                after_run(records)
            if first and i == len(seeds) - 1:  # every student-alone run is done
                check_teacher(teacher_strength(ctx, records), teacher_check == 'report')
    return records


def run_one(ctx: RunContext, method: Method, seed: int, progress: PlanProgress) -> dict:
    """The record of one run: reused when it has finished, else executed."""
    progress.start(f'{method.key} seed {seed}')
    record = finished(ctx, method, seed)
    if record is not None:
        progress.finish('reused', executed=False)
        return record
    record = execute(ctx, method, seed)
    progress.finish('ok' if record['status'] == 'ok' else f"FAILED, {record['error']}")
    return record


def teacher_strength(ctx: RunContext, students: Sequence[dict]) -> TeacherStrength:
    """The teacher's main metric (tested once) against the finished student-alone runs;
    written to ``<root>/teacher.json`` (the tables' header quotes it)."""
    metric = ctx.task.main_metric
    score = teacher_metrics(ctx.task, ctx.teacher, ctx.data, ctx.root)[metric]
    strength = TeacherStrength(metric, score, tuple(
        r['metrics'][metric] for r in students if r['status'] == 'ok'))
    (ctx.root / TEACHER).write_text(json.dumps(dict(
        checkpoint=str(ctx.teacher), metric=metric, teacher=score,
        students=list(strength.students), clear=strength.clear if strength.students else None,
        summary=strength.summary() if strength.students else None), indent=1))
    return strength


def run_benchmark(task: TaskSetup, plan: Sequence[Method], seeds: Sequence[int], root: Path,
                  command: str, data: Optional[Path] = None, teacher: Optional[Path] = None,
                  options: Sequence[str] = (), live: Optional[bool] = None,
                  allow_weak_teacher: bool = False) -> str:
    """:func:`run_plan` with the teacher check (``allow_weak_teacher``: report a weak
    teacher instead of refusing it), writing the outputs after every run; returns the
    tables (Markdown).

    Raises:
        rlpkd.benchmarking.teacher.WeakTeacherError: see :func:`run_plan`.
    """
    def write(records: List[dict]) -> str:
        return write_outputs(task, root, records, seeds, command)

    return write(run_plan(task, plan, seeds, root, data, teacher, options, live, write,
                          teacher_check='report' if allow_weak_teacher else 'refuse'))
