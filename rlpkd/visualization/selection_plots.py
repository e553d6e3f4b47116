"""Bar charts of how often a learned selector distils each pyramid level, per image group."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

import numpy as np
from matplotlib.axes import Axes

from .decisions import rates_by
from .figure import new_figure, save_figure


def plot_rates(rates: dict[str, tuple[np.ndarray, int]], level_names: Sequence[str],
               out_file: str | Path, title: str) -> Axes:
    """Write a grouped bar chart: one cluster per level, one bar per group (its rate of
    images with that level kept, 0-1; ``n`` images in the legend). Returns its Axes."""
    fig = new_figure(max(6.0, 1.2 * len(level_names) * max(1, len(rates)) / 2), 4.0)
    ax = fig.add_subplot()
    x = np.arange(len(level_names))
    width = 0.8 / len(rates)
    for i, (group, (values, count)) in enumerate(rates.items()):
        ax.bar(x + (i - (len(rates) - 1) / 2) * width, values, width,
               label=f'{group} (n={count})')
    ax.set_xticks(x, list(level_names))
    ax.set_ylim(0, 1.05)
    ax.set_ylabel('selection rate')
    ax.set_title(title)
    ax.legend(fontsize='small', ncols=min(len(rates), 4))
    save_figure(fig, out_file)
    return ax


def plot_selection_by_group(records: Sequence[dict[str, Any]], level_names: Sequence[str],
                            out_file: str | Path) -> Axes:
    """Selection rate per level for all test images and per image group (the dump's
    ``group``: the toy data's size group small / large / mixed; only ``all`` when the
    metric had no ``group_file``)."""
    rates = rates_by(records, lambda r: r.get('group'))
    return plot_rates(rates, level_names, out_file, 'level selection by image group')


def plot_selection_by_class(records: Sequence[dict[str, Any]], level_names: Sequence[str],
                            classes: dict[str, str], out_file: str | Path) -> Optional[Axes]:
    """Selection rate per level for each class (``classes``: ``{image path: class}``, see
    :func:`rlpkd.visualization.decisions.class_of_images`). Returns ``None`` and writes
    nothing when no record's image has a class."""
    if not any(str(r['image']) in classes for r in records):
        return None
    rates = rates_by(records, lambda r: classes.get(str(r['image'])))
    return plot_rates(rates, level_names, out_file, 'level selection by class')
