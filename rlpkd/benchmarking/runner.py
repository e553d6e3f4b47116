"""Execute the runs of a benchmark plan through the real ``tools/*.py``, resumably.

A run (one :class:`~rlpkd.benchmarking.plan.Method`, one seed) trains its config —
for a NAS method: the search, then the retrain of the subset it found — tests the last
checkpoint and writes ``result.json`` into its directory. That file makes the run
*finished*: a benchmark started again reuses it, unless it was distilled from another
teacher. A run without it (killed, or failed) is started afresh in an emptied
directory. A failed run returns a ``failed`` record naming its log; the plan goes on.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

from rlpkd.visualization.scalars import find_scalars_file, load_scalars

from .launch import ToolError, run_tool
from .plan import Method, TaskSetup

RESULT = 'result.json'
#: a learned run's test-time decisions, one JSON line per image (``LevelSelectionMetric``)
DECISIONS = 'decisions.jsonl'


class RunContext:
    """What every run of one benchmark shares.

    Args:
        task: the task's configs.
        root: the benchmark's work directory (``<root>/<method>/seed_<s>`` per run).
        data: the toy data root.
        teacher: the teacher checkpoint.
        options: extra ``--cfg-options`` for every run (e.g. a shorter schedule).
        on_progress: status callback of the running tool (see ``run_tool``).
    """

    def __init__(self, task: TaskSetup, root: Path, data: Path, teacher: Path,
                 options: Sequence[str] = (),
                 on_progress: Optional[Callable[[str], None]] = None) -> None:
        self.task, self.root, self.data, self.teacher = task, root, data, teacher
        self.options, self.on_progress = tuple(options), on_progress

    def run_dir(self, method: Method, seed: int) -> Path:
        return self.root / method.key / f'seed_{seed}'

    def config_file(self, method: Method, config: str, work: Path,
                    name: str = 'config.py') -> Path:
        """The file a run of ``method`` trains and tests: the task's ``config``, or,
        when the method imports modules, ``work/<name>`` inheriting it with those
        ``custom_imports`` (``--cfg-options`` cannot import: mmengine imports a config's
        modules when it reads the file)."""
        path = self.task.path(config)
        if not method.imports:
            return path
        work.mkdir(parents=True, exist_ok=True)
        wrapper = work / name
        wrapper.write_text(f"_base_ = [{str(path)!r}]\ncustom_imports = dict(imports="
                           f"{['rlpkd', *method.imports]!r}, allow_failed_imports=False)\n")
        return wrapper

    def train(self, config: Path, work: Path, options: Sequence[str]) -> float:
        """Train ``config`` into ``work``; returns the wall time (s)."""
        return run_tool('train.py', [config, '--work-dir', work, '--cfg-options', *options],
                        work / 'train.log', self.on_progress)

    def test(self, config: Path, work: Path, options: Sequence[str]) -> dict:
        """Test the last checkpoint of ``work``; returns the test's ``metrics.json``."""
        ckpt = (work / 'last_checkpoint').read_text().strip()
        run_tool('test.py', [config, ckpt, '--work-dir', work / 'test', '--cfg-options',
                             *options], work / 'test.log', self.on_progress)
        return json.loads((work / 'test' / 'metrics.json').read_text())


def train_cost(work: Path) -> Optional[float]:
    """Distillation-cost fraction a learned run spent *in training*: the mean, over the
    logged training iterations (``vis_data/scalars.json``: the logger's window means),
    of the distiller's ``distill_cost`` where the selector sampled, and 1 in the
    uniform phases (which log none). None without a scalar log."""
    path = find_scalars_file(work)
    if path is None:
        return None
    series = load_scalars(path)
    costs = dict(zip(*series.get('distill_cost', ([], []))))
    steps = series.get('loss', ([], []))[0]
    return sum(costs.get(step, 1.0) for step in steps) / len(steps) if steps else None


def finished(ctx: RunContext, method: Method, seed: int) -> Optional[dict]:
    """The record of a finished run, None when it has not finished or was distilled from
    another teacher than ``ctx.teacher`` (records from before the teacher was recorded
    are reused; a learned run's record from before ``train_cost`` existed gets it from
    the run's log)."""
    work = ctx.run_dir(method, seed)
    if not (work / RESULT).exists():
        return None
    record = json.loads((work / RESULT).read_text())
    if method.distilled and record.get('teacher', str(ctx.teacher)) != str(ctx.teacher):
        return None
    if method.learned and 'train_cost' not in record:
        record['train_cost'] = train_cost(work)
    return record


def execute(ctx: RunContext, method: Method, seed: int) -> dict:
    """Run ``method`` with ``seed`` (see the module docstring); returns its record:
    ``key``, ``method``, ``family``, ``lambda``, ``seed``, ``status`` (``ok`` /
    ``failed``), ``teacher`` (the checkpoint distilled from; None for the student alone),
    ``metrics`` (test), ``main_metric``, ``cost`` (distillation-cost
    fraction: the learned policy's greedy decisions on the test set, the NAS subset's,
    1 for uniform KD, None for the student alone), ``train_cost`` (learned runs: the
    fraction spent in training, :func:`train_cost`), ``train_s`` / ``search_s`` (wall
    seconds of the
    training and, for NAS, of the search run), ``search_cost`` (the
    ``search_cost.json`` of the search or RL run), ``search_result`` (NAS), ``run_s``
    (wall seconds of the whole run: search, training, test), ``error``."""
    work, start = ctx.run_dir(method, seed), time.time()
    if work.exists():
        shutil.rmtree(work)
    record = dict(key=method.key, method=method.label, family=method.family,
                  **{'lambda': method.lam}, seed=seed, main_metric=ctx.task.main_metric,
                  status='failed', metrics={}, cost=None, train_s=None, search_s=None,
                  teacher=str(ctx.teacher) if method.distilled else None)
    options = [*ctx.task.data_options(ctx.data, method.learned), f'randomness.seed={seed}',
               *method.options, *ctx.options]
    if method.distilled:
        options.append(f'model.teacher_ckpt={ctx.teacher}')
    try:
        config = ctx.config_file(method, method.config, work)
        if method.retrain is not None:
            search = work / 'search'
            record['search_s'] = ctx.train(
                config, search, [*options, *ctx.task.search_options(ctx.data)])
            record['search_result'] = json.loads((search / 'search_result.json').read_text())
            record['search_cost'] = json.loads((search / 'search_cost.json').read_text())
            record['cost'] = record['search_result']['cost']
            config = ctx.config_file(method, method.retrain, work, 'retrain_config.py')
            options.append(f'model.selector.levels_from={search}/search_result.json')
        record['train_s'] = ctx.train(config, work, options)
        dump = [f'test_evaluator.1.dump_file={work / DECISIONS}'] if method.learned else []
        record['metrics'] = ctx.test(config, work, [*options, *dump])
    except ToolError as err:
        last = (err.tail.strip().splitlines() or ['no output'])[-1]
        record['error'] = f'{err.log} ({last[:200]})'
        return record
    if method.learned:
        record['cost'] = record['metrics'].get('selection/cost_fraction')
        record['train_cost'] = train_cost(work)
        record['search_cost'] = json.loads((work / 'search_cost.json').read_text())
    elif method.family in ('uniform', 'gradopt'):
        record['cost'] = 1.0
    record['status'], record['run_s'] = 'ok', time.time() - start
    (work / RESULT).write_text(json.dumps(record, indent=1))
    return record
