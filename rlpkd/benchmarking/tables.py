"""The benchmark tables from the records of a benchmark's runs, as Markdown and JSON.

Every cell is mean ± sample std over the seeds whose run finished; a cell whose runs
failed says so (``failed`` or ``(1 failed)``), a method not run is ``–``.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .plan import LAMBDAS, TaskSetup, sweep_key

Getter = Callable[[dict], Optional[float]]


@dataclass(frozen=True)
class Column:
    """A column: ``get`` reads a run's value; ``text`` (optional) renders the summary
    over seeds instead of ``m ± s``."""

    label: str
    get: Getter
    digits: int = 3
    text: Optional[Callable[[dict], str]] = None

    def cell(self, runs: Sequence[dict]) -> str:
        stats_ = summary(runs, self.get)
        return self.text(stats_) if self.text and stats_['n'] else format_cell(stats_,
                                                                             self.digits)


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    rows: Tuple[Tuple[str, str], ...]  # (row label, method key)
    columns: Tuple[Column, ...]
    note: str = ''


def stats(values: Sequence[float], failed: int = 0) -> dict:
    """``{'mean', 'std' (sample std; 0 for one value), 'n', 'failed'}`` of ``values``."""
    if not values:
        return dict(mean=None, std=None, n=0, failed=failed)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return dict(mean=statistics.mean(values), std=std, n=len(values), failed=failed)


def summary(records: Sequence[dict], get: Getter) -> dict:
    """:func:`stats` of ``get`` over the ``ok`` records; ``failed`` counts the others."""
    values = [v for v in (get(r) for r in records if r['status'] == 'ok') if v is not None]
    return stats(values, failed=sum(r['status'] != 'ok' for r in records))


def format_cell(stats: dict, digits: int) -> str:
    """``'m ± s'``; ``'failed'`` / ``'m ± s (k failed)'``; ``'–'`` when nothing ran."""
    if stats['n'] == 0:
        return 'failed' if stats['failed'] else '–'
    text = f"{stats['mean']:.{digits}f} ± {stats['std']:.{digits}f}"
    return text + (f" ({stats['failed']} failed)" if stats['failed'] else '')


def wall_s(r: dict) -> Optional[float]:
    """Wall seconds of the run's training (+ its search for a NAS method)."""
    return None if r['train_s'] is None else r['train_s'] + (r.get('search_s') or 0.0)


def search_s(r: dict) -> Optional[float]:
    """Seconds of the search phases (NAS search; RL-PyramidKD's policy phases)."""
    return (r.get('search_cost') or {}).get('search_seconds')


def subsets(r: dict) -> Optional[float]:
    """Distinct level subsets used on the test set (a NAS subset: 1 by construction)."""
    if r['family'] == 'nas':
        return 1.0
    return r['metrics'].get('selection/distinct_subsets')


def adaptive(r: dict) -> Optional[float]:
    """1 when the run used more than one subset on the test set (sample-adaptive)."""
    used = subsets(r)
    return None if used is None else float(used > 1)


def adaptive_text(stats_: dict) -> str:
    """``'no'``, or ``'yes (k/n seeds)'``."""
    k = round(stats_['mean'] * stats_['n'])
    return 'no' if k == 0 else f"yes ({k}/{stats_['n']} seeds)"


def task_tables(task: TaskSetup, records: Sequence[dict]) -> List[Table]:
    """The tables of ``task``: main, NAS vs RL, ablation, gradient optimisation, λ sweep."""
    digits = 3 if task.coco else 2
    metrics = tuple(Column(label, lambda r, k=key: r['metrics'].get(k), digits)
                    for key, label in task.metrics)
    main = metrics[0]
    uniform = summary([r for r in records if r['key'] == 'uniform'], wall_s)['mean']
    cost = Column('distill cost (test)', lambda r: r['cost'])
    spent = Column('distill cost (training)', lambda r: r.get('train_cost', r['cost']))
    ratio = Column('train-time ratio', lambda r: None if uniform is None or wall_s(r) is None
                   else wall_s(r) / uniform, 2)
    nas = tuple((name, name.lower()) for name in task.nas)
    full = ('RL-PyramidKD (full)', 'rl')
    return [
        Table('main', 'Main results', (('student alone', 'student'), ('uniform KD', 'uniform'),
                                   *nas, full),
              (*metrics, cost, spent, ratio, Column('wall (s)', wall_s, 0)),
              'distill cost: the fraction of the distillation FLOPs of every level, at test '
              'time (the greedy policy\'s decisions) and spent in training (sampled '
              'decisions, uniform phases included); train-time ratio: wall time / uniform '
              'KD\'s (NAS: search + retrain).'),
        Table('nas_vs_rl', 'NAS vs RL', (*nas, full),
              (main, cost, Column('search (s)', search_s, 0),
               Column('subsets used', subsets, 2),
               Column('sample-adaptive', adaptive, text=adaptive_text)),
              'search: the NAS search phase; RL-PyramidKD: its policy phases (2 and 3). '
              'Sample-adaptive (as measured): more than one subset used on the test set.'),
        Table('ablation', 'Component ablation',
              (('fixed uniform', 'uniform'),
               ('RL w/o sequential', 'rl_independent'), ('RL w/o efficiency (λ = 0)',
                                                         sweep_key(0.0)),
               ('RL w/o GradNorm', 'rl_no_gradnorm'), full,
               ("uniform KD on RL's phase schedule + GradNorm (control)",
                'rl_schedule_uniform')), (main, cost, spent),
              "the control trains like RL-PyramidKD (phase 2 freezes the student backbone) "
              'but distils every level in every phase and learns no policy.'),
        Table('gradient', 'Gradient optimisation (clipping, GradNorm)',
              (('uniform KD (baseline)', 'uniform'),
               ('+ gradient clipping', 'uniform_clip'), ('+ GradNorm', 'uniform_gradnorm'),
               ('RL + GradNorm', 'rl')), (main, ), 'the ± is the seed-to-seed spread.'),
        Table('lambda', 'λ sweep (RL-PyramidKD + GradNorm)',
              tuple((f'λ = {lam:g}', sweep_key(lam)) for lam in LAMBDAS),
              (main, cost, spent, Column('subsets used', subsets, 2),
               Column('MI (bits)', lambda r: r['metrics'].get('selection/group_mi'))),
              'MI: mutual information between decisions and the image\'s size group.'),
    ]


def _by_key(records: Sequence[dict]) -> Dict[str, List[dict]]:
    out: Dict[str, List[dict]] = {}
    for r in records:
        out.setdefault(r['key'], []).append(r)
    return out


def table_json(table: Table, records: Sequence[dict]) -> dict:
    """``{'title', 'rows': [{'label', 'key', <column>: summary}]}``."""
    runs = _by_key(records)
    rows = [dict(label=label, key=key,
                 **{c.label: summary(runs.get(key, []), c.get) for c in table.columns})
            for label, key in table.rows]
    return dict(title=table.title, rows=rows)


def table_markdown(table: Table, records: Sequence[dict]) -> str:
    runs = _by_key(records)
    head = ['method', *(c.label for c in table.columns)]
    lines = [f'### {table.title}', '', '| ' + ' | '.join(head) + ' |', '|---' * len(head) + '|']
    for label, key in table.rows:
        cells = [c.cell(runs.get(key, [])) for c in table.columns]
        lines.append('| ' + ' | '.join([label, *cells]) + ' |')
    return '\n'.join(lines + ([f'\n{table.note}'] if table.note else [])) + '\n'


def failures_markdown(records: Sequence[dict]) -> str:
    """One line per failed run (method, seed, log), empty when none failed."""
    failed = [r for r in records if r['status'] != 'ok']
    if not failed:
        return ''
    return 'Failed runs:\n' + ''.join(f"- {r['key']} seed {r['seed']}: {r.get('error')}\n"
                                      for r in failed)


def out_flag(out: str, default: Path, root: Path) -> str:
    """`` --out STEM`` (relative to ``root``, the repository) for a result script's
    command line, or ``''`` when ``out`` is the script's ``default``."""
    path = Path(out).resolve()
    if path == default.resolve():
        return ''
    return f' --out {path.relative_to(root) if path.is_relative_to(root) else path}'
