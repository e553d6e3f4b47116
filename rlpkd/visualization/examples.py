"""A grid of test images, each captioned with the levels the selector distils for it."""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mmcv
from matplotlib.figure import Figure

from .decisions import describe
from .figure import new_figure, save_figure


def pick_examples(records: Sequence[dict[str, Any]], num: int) -> list[dict[str, Any]]:
    """Up to ``num`` records, taken in turn from each group (``group``, sorted) so that
    every group is shown; in dump order within a group."""
    by_group: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_group.setdefault(str(r.get('group')), []).append(r)
    queues = [by_group[g] for g in sorted(by_group)]
    picked: list[dict[str, Any]] = []
    for depth in range(max(map(len, queues), default=0)):
        picked += [q[depth] for q in queues if depth < len(q)]
    return picked[:num]


def caption(record: dict[str, Any], level_names: Sequence[str]) -> str:
    """``"P2 P3 · P5\\ncost 0.47 · small"``: kept levels, cost fraction, group."""
    text = f"{describe(record['levels'], level_names)}\ncost {record['used_cost']:.2f}"
    return text + (f" · {record['group']}" if record.get('group') is not None else '')


def plot_examples(records: Sequence[dict[str, Any]], level_names: Sequence[str],
                  out_file: str | Path, num: int = 8) -> Figure:
    """Write a grid of ``num`` test images (read from the dump's image paths with mmcv),
    each captioned with its decision (:func:`caption`). An image that cannot be read
    (the dump holds an id, or the file moved) is shown as an empty cell that says so."""
    chosen = pick_examples(records, num)
    cols = min(4, max(1, len(chosen)))
    rows = max(1, math.ceil(len(chosen) / cols))
    fig = new_figure(2.6 * cols, 2.9 * rows)
    for i, record in enumerate(chosen):
        ax = fig.add_subplot(rows, cols, i + 1)
        try:
            ax.imshow(mmcv.imread(str(record['image']), channel_order='rgb'))
        except (FileNotFoundError, OSError, TypeError, ValueError):
            ax.text(0.5, 0.5, f"cannot read\n{record['image']}", ha='center', va='center',
                    fontsize='x-small', wrap=True)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(caption(record, level_names), fontsize='small')
        ax.set_title('/'.join(Path(str(record['image'])).parts[-2:]), fontsize='x-small')
    save_figure(fig, out_file)
    return fig
