"""Task metric against distillation cost over a benchmark's runs, with the Pareto front.

Input: the run records of ``tools/benchmark.py`` (a JSON list), each
``{"key", "method", "family", "lambda", "seed", "status", "metrics", "main_metric",
"cost", "train_s"}``. Points: one per λ of the ``"lambda"`` family (the λ sweep of
RL-PyramidKD), one per ``method`` of the ``"uniform"`` (uniform KD), ``"gradopt"``
(uniform KD + gradient clipping / GradNorm, cost 1) and ``"nas"`` families; each the
mean over seeds with the (sample) standard deviation over seeds as error bars. Runs
whose ``status`` is not ``"ok"`` and the other families (``student``: no
distillation; ``ablation``) are left out.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import cycle
from pathlib import Path
from typing import Any, Optional

import numpy as np
from matplotlib.axes import Axes

from .figure import new_figure, save_figure

FAMILIES = ('lambda', 'uniform', 'gradopt', 'nas')
COST_METRIC = 'selection/cost_fraction'  # fallback when a record has no "cost"


@dataclass(frozen=True)
class ParetoPoint:
    """One plotted point: mean and std over ``seeds`` runs of one setting."""

    label: str
    family: str
    cost: float
    cost_std: float
    metric: float
    metric_std: float
    seeds: int


@dataclass
class ParetoPlot:
    """What :func:`plot_pareto` drew: the Axes, the points, the front (cost order) and
    the run keys left out for want of a cost or metric."""

    axes: Axes
    points: list[ParetoPoint]
    front: list[ParetoPoint]
    skipped: list[str] = field(default_factory=list)


def load_records(path: str | Path) -> list[dict[str, Any]]:
    """The run records of a benchmark results file (a JSON list).

    Raises:
        FileNotFoundError, ValueError: naming ``--benchmark`` (the tool's argument).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'`--benchmark`: no such file: {path}')
    records = json.loads(path.read_text())
    if not isinstance(records, list):
        raise ValueError(f'`--benchmark` {path}: expected a JSON list of run records')
    return records


def _cost(record: dict[str, Any]) -> Optional[float]:
    cost = record.get('cost')
    if cost is None:
        cost = (record.get('metrics') or {}).get(COST_METRIC)
    return None if cost is None else float(cost)


def _point(label: str, family: str, runs: list[tuple[float, float]]) -> ParetoPoint:
    costs, metrics = np.array(runs, dtype=float).T
    ddof = 1 if len(runs) > 1 else 0
    return ParetoPoint(label, family, float(costs.mean()), float(costs.std(ddof=ddof)),
                       float(metrics.mean()), float(metrics.std(ddof=ddof)), len(runs))


def pareto_points(records: Sequence[dict[str, Any]]) -> tuple[list[ParetoPoint], list[str]]:
    """The points of the plot (λ points in λ order, then the others in record order) and
    the keys of usable-family runs left out (no cost, no ``main_metric`` value, or a
    ``lambda`` run without λ)."""
    groups: dict[tuple[str, Any], list[tuple[float, float]]] = {}
    skipped = []
    for r in records:
        if r.get('status') != 'ok' or r.get('family') not in FAMILIES:
            continue
        cost, metric = _cost(r), (r.get('metrics') or {}).get(r.get('main_metric'))
        if cost is None or metric is None or (r['family'] == 'lambda'
                                              and r.get('lambda') is None):
            skipped.append(str(r.get('key', r.get('method'))))
            continue
        family = r['family']
        group = r.get('lambda') if family == 'lambda' else str(r.get('method', family))
        groups.setdefault((family, group), []).append((cost, float(metric)))
    lambdas = sorted((g for f, g in groups if f == 'lambda'), key=float)
    points = [_point(f'λ={g:g}', 'lambda', groups['lambda', g]) for g in lambdas]
    points += [_point(str(g), f, runs) for (f, g), runs in groups.items() if f != 'lambda']
    return points, skipped


def pareto_front(points: Sequence[ParetoPoint]) -> list[ParetoPoint]:
    """The points no other point beats (lower or equal cost and higher or equal metric,
    one of them strictly), in order of increasing cost."""
    front: list[ParetoPoint] = []
    for p in sorted(points, key=lambda q: (q.cost, -q.metric)):
        if not front or p.metric > front[-1].metric:
            front.append(p)
    return front


def main_metric(records: Sequence[dict[str, Any]]) -> str:
    """The one ``main_metric`` of the ok runs (e.g. ``coco/bbox_mAP``).

    Raises:
        ValueError: the runs name none or several.
    """
    names = {r.get('main_metric') for r in records if r.get('status') == 'ok'} - {None}
    if len(names) != 1:
        raise ValueError(f'`--benchmark`: expected one main_metric over the ok runs, got '
                         f'{sorted(names)}')
    return names.pop()


def plot_pareto(records: Sequence[dict[str, Any]], out_file: str | Path) -> ParetoPlot:
    """Write the metric-vs-cost plot of ``records`` (module docstring): the λ sweep as
    one labelled series with error bars, every other method (uniform KD, its gradopt
    variants, each NAS method) as its own marker, and the Pareto front over all points
    as a dashed line."""
    metric = main_metric(records)
    points, skipped = pareto_points(records)
    fig = new_figure(6.5, 4.5)
    ax = fig.add_subplot()
    sweep = [p for p in points if p.family == 'lambda']
    if sweep:
        ax.errorbar([p.cost for p in sweep], [p.metric for p in sweep],
                    xerr=[p.cost_std for p in sweep], yerr=[p.metric_std for p in sweep],
                    fmt='o-', capsize=3, label='RL-PyramidKD (λ sweep)')
        for p in sweep:
            ax.annotate(p.label, (p.cost, p.metric), textcoords='offset points',
                        xytext=(4, 4), fontsize='small')
    for p, marker in zip([p for p in points if p.family != 'lambda'], cycle('sD^vP*Xh<>')):
        ax.errorbar([p.cost], [p.metric], xerr=[p.cost_std], yerr=[p.metric_std],
                    fmt=marker, capsize=3, label=p.label)
    front = pareto_front(points)
    ax.plot([p.cost for p in front], [p.metric for p in front], 'k--', lw=1, alpha=0.6,
            label='Pareto front')
    ax.set_xlabel('distillation-cost fraction (1 = uniform KD)')
    ax.set_ylabel(f'{metric} (mean ± std over seeds)')
    ax.set_title('metric vs distillation cost')
    ax.legend(fontsize='small')
    save_figure(fig, out_file)
    return ParetoPlot(ax, points, front, skipped)
