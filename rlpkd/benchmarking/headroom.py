"""Is there per-sample headroom? Paired comparisons of a benchmark's runs by seed.

A per-sample selection is worth learning only where a per-sample oracle beats uniform
KD *and every fixed subset* of levels. Runs of different methods with the same seed
share data order and initialisation, so the comparison is paired: per seed the
difference ``d_s = oracle_s − method_s`` of the main metric, then its mean and standard
error ``std(d) / sqrt(n)``; the oracle clearly beats a method when the mean is above
twice its standard error (the criterion of the known-answer benchmark's Gate 1).
"""
from __future__ import annotations

import itertools
import math
import statistics
from typing import Dict, List, Sequence, Tuple


def fixed_subsets(levels: Sequence[str]) -> List[Tuple[str, ...]]:
    """Every non-empty proper subset of ``levels`` (``2^L − 2``; the full set is uniform
    KD), largest first, in level order."""
    return [subset for size in range(len(levels) - 1, 0, -1)
            for subset in itertools.combinations(levels, size)]


def subset_label(subset: Sequence[str]) -> str:
    """``'fixed: P3+P4+P5'``."""
    return 'fixed: ' + '+'.join(subset)


def paired(reference: Dict[int, float], other: Dict[int, float]) -> dict:
    """Paired difference ``reference − other`` over the seeds both have.

    Returns ``dict(n, mean, se, clear)`` (``se``: standard error of the mean; ``clear``:
    ``mean > 2 se`` with ``n >= 2``; ``se`` and ``clear`` are ``None`` below 2 seeds).
    """
    seeds = sorted(set(reference) & set(other))
    diffs = [reference[s] - other[s] for s in seeds]
    if not diffs:
        return dict(n=0, mean=None, se=None, clear=None)
    mean = statistics.mean(diffs)
    if len(diffs) < 2:
        return dict(n=1, mean=mean, se=None, clear=None)
    se = statistics.stdev(diffs) / math.sqrt(len(diffs))
    return dict(n=len(diffs), mean=mean, se=se, clear=mean > 2 * se)


def by_seed(records: Sequence[dict], method: str, metric: str) -> Dict[int, float]:
    """``{seed: metric}`` of the finished runs of ``method``."""
    return {r['seed']: r['metrics'][metric] for r in records
            if r['method'] == method and r.get('status', 'ok') == 'ok'
            and metric in r['metrics']}


def headroom_markdown(records: Sequence[dict], reference: str, metric: str,
                      label: str) -> str:
    """A table of ``reference − method`` (paired by seed) for every other method, and
    the verdict: does ``reference`` clearly beat uniform KD and every fixed subset?"""
    ref = by_seed(records, reference, metric)
    methods = list(dict.fromkeys(r['method'] for r in records if r['method'] != reference))
    lines = [f'| {reference} − method | seeds | mean {label} difference | standard error '
             '| above 2 SE |', '|---|---|---|---|---|']
    rows = {m: paired(ref, by_seed(records, m, metric)) for m in methods}
    for method, row in rows.items():
        if row['n'] == 0:
            continue
        se = '–' if row['se'] is None else f"{row['se']:.4f}"
        clear = '–' if row['clear'] is None else ('yes' if row['clear'] else 'no')
        lines.append(f"| {method} | {row['n']} | {row['mean']:+.4f} | {se} | {clear} |")
    compared = {m: r for m, r in rows.items()
                if r['n'] and (m == 'uniform KD' or m.startswith('fixed: '))}
    if not compared or not ref:
        return '\n'.join(lines) + '\n'
    beaten = [m for m, r in compared.items() if r['clear']]
    verdict = ('yes' if len(beaten) == len(compared) else
               f'no: not clearly above {", ".join(m for m in compared if m not in beaten)}')
    return '\n'.join(lines) + (f'\n\nHeadroom ({reference} clearly above uniform KD and the '
                               f'{len(compared) - ("uniform KD" in compared)} fixed subsets '
                               f'run): {verdict}.\n')
