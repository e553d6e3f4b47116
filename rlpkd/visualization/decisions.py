"""Per-image level decisions as dumped by :class:`rlpkd.evaluation.LevelSelectionMetric`.

The dump is JSON Lines, one ``{"image", "levels", "used_cost"[, "group"]}`` record per
test image: ``image`` is the image path (or id), ``levels`` the selector's
deterministic mask (one value in [0, 1] per pyramid level), ``used_cost`` the
distillation-cost fraction it spends, ``group`` the image's attribute from the
metric's ``group_file`` (the toy data's size group).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Optional

import numpy as np

KEEP_THRESHOLD = 0.5  # a level with mask value >= this counts as distilled


def load_decisions(path: str | Path) -> list[dict[str, Any]]:
    """The records of a ``LevelSelectionMetric.dump_file``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file holds no record, or a record lacks ``levels``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'no decision dump at {path}')
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not records:
        raise ValueError(f'{path}: no decision record')
    if any('levels' not in r for r in records):
        raise ValueError(f'{path}: a record has no "levels"; is it a LevelSelectionMetric '
                         'dump?')
    return records


def kept(levels: Sequence[float]) -> list[bool]:
    """Which levels a (possibly soft) mask distils."""
    return [float(v) >= KEEP_THRESHOLD for v in levels]


def describe(levels: Sequence[float], level_names: Sequence[str]) -> str:
    """A decision as text: kept levels by name, dropped ones as ``·`` (``"P2 P3 · P5"``)."""
    return ' '.join(n if k else '·' for n, k in zip(level_names, kept(levels)))


def rates_by(records: Iterable[dict[str, Any]],
             key: Callable[[dict[str, Any]], Optional[str]]) -> dict[str, tuple[np.ndarray, int]]:
    """Per-level selection rate of the records grouped by ``key(record)``.

    Returns ``{group: (rates [L], number of images)}`` with an ``'all'`` entry first,
    then the groups in sorted order; records whose key is ``None`` count only in
    ``'all'``.
    """
    records = list(records)
    groups: dict[str, list[list[bool]]] = {'all': [kept(r['levels']) for r in records]}
    for r in records:
        name = key(r)
        if name is not None:
            groups.setdefault(str(name), []).append(kept(r['levels']))
    order = ['all'] + sorted(g for g in groups if g != 'all')
    return {g: (np.asarray(groups[g], dtype=float).mean(axis=0), len(groups[g]))
            for g in order}


def class_of_images(dataset: Any) -> Optional[dict[str, str]]:
    """``{image path: class name}`` of a classification dataset, else ``None``.

    Reads ``get_data_info(i)['gt_label']`` (mmpretrain's datasets) and the dataset's
    ``metainfo['classes']``; a dataset whose samples carry no single integer label
    (detection, segmentation) gives ``None``.
    """
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    if not classes or not hasattr(dataset, 'get_data_info'):
        return None
    labels = {}
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        label = np.asarray(info.get('gt_label', []))
        if label.size != 1 or 'img_path' not in info:
            return None
        labels[str(info['img_path'])] = str(classes[int(label.reshape(()))])
    return labels
