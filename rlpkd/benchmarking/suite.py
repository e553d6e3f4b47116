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
from .plan import Method, TaskSetup
from .progress import PlanProgress
from .runner import RunContext, execute, finished
from .tables import failures_markdown, table_json, table_markdown, task_tables, wall_s
from .teacher import cached_teacher


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


def header(task: TaskSetup, seeds: Sequence[int], command: str, records: List[dict]) -> str:
    total = sum(r.get('run_s') or wall_s(r) or 0.0 for r in records)
    return (f'## {task.title}\n\nToy-scale CPU runs (2 cores), seeds {list(seeds)}, made '
            f'by `{command}`; the {len(records)} runs took {total / 60:.0f} min (sum of '
            'their wall times, each measured when it ran; finished runs are reused). '
            'mean ± std over seeds; "distill cost": the fraction of the distillation '
            'FLOPs spent (the learned policy\'s on the test set, the NAS subset\'s; 1 = '
            'every level). "RL-PyramidKD (full)": the task\'s RL config + GradNorm, '
            'λ = 0.5.\n\n')


def write_outputs(task: TaskSetup, root: Path, records: List[dict], seeds: Sequence[int],
                  command: str) -> str:
    """Write ``results.json``, ``tables.json``, ``tables.md``; returns the Markdown."""
    tables = task_tables(task, records)
    text = header(task, seeds, command, records) + '\n'.join(
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
             cache: Optional[Path] = None) -> List[dict]:
    """Run (or reuse) every ``plan`` method with every seed under ``root``; returns the
    records (a failed run is recorded, and the others go on). ``after_run(records)`` is
    called after every run; ``cache``: where the toy teacher is looked up and kept when
    no ``teacher`` is given (:func:`prepare_teacher`)."""
    root = root.resolve()  # the tools run from the repository root
    root.mkdir(parents=True, exist_ok=True)
    records: List[dict] = []
    with PlanProgress(len(plan) * len(seeds), live=live) as progress:
        data = prepare_data(task, root, data)
        teacher = prepare_teacher(task, root, data, teacher, progress, cache=cache)
        ctx = RunContext(task, root, data, teacher, options, progress.status)
        for seed in seeds:
            for method in plan:
                progress.start(f'{method.key} seed {seed}')
                record = finished(ctx, method, seed)
                if record is not None:
                    progress.finish('reused', executed=False)
                else:
                    record = execute(ctx, method, seed)
                    progress.finish('ok' if record['status'] == 'ok'
                                    else f"FAILED, {record['error']}")
                records.append(record)
                if after_run is not None:
                    after_run(records)
    return records


def run_benchmark(task: TaskSetup, plan: Sequence[Method], seeds: Sequence[int], root: Path,
                  command: str, data: Optional[Path] = None, teacher: Optional[Path] = None,
                  options: Sequence[str] = (), live: Optional[bool] = None) -> str:
    """:func:`run_plan`, writing the outputs after every run; returns the tables
    (Markdown)."""
    def write(records: List[dict]) -> str:
        return write_outputs(task, root, records, seeds, command)

    return write(run_plan(task, plan, seeds, root, data, teacher, options, live, write))
