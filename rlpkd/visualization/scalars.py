"""Read the scalar log mmengine writes during training (``LocalVisBackend``).

A training run's work_dir holds ``<timestamp>/vis_data/scalars.json``: JSON Lines, each
``{"<key>": value, ..., "step": n}`` for one logged iteration (or validation). Keys are
the logger's tags without the ``train/`` prefix of the message hub: ``loss``,
``select_<level>``, ``gradnorm_w_<level>`` (GradNorm weights), ``rl/reward``,
``rl/entropy``, ``rl/approx_kl``, ``rl/clip_fraction`` (``rlpkd.PolicyStatsHook``), ...
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

Series = tuple[list[int], list[float]]
_PREFIX = 'train/'


def find_scalars_file(log_dir: str | Path) -> Optional[Path]:
    """The newest ``*/vis_data/scalars.json`` under a training work_dir (or
    ``vis_data/scalars.json`` / ``scalars.json`` given directly); ``None`` if none.

    Raises:
        FileNotFoundError: ``log_dir`` does not exist (naming ``--log-dir``).
    """
    log_dir = Path(log_dir)
    if log_dir.is_file():
        return log_dir
    if not log_dir.is_dir():
        raise FileNotFoundError(f'`--log-dir`: no such directory: {log_dir}')
    found = [*log_dir.glob('*/vis_data/scalars.json'), *log_dir.glob('vis_data/scalars.json')]
    return max(found, key=lambda p: p.stat().st_mtime, default=None)


def load_scalars(path: str | Path) -> dict[str, Series]:
    """``{key: (steps, values)}`` of every numeric key of a ``scalars.json`` (a leading
    ``train/`` is dropped, so either spelling of a key is found)."""
    series: dict[str, Series] = {}
    for line in Path(path).read_text().splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        step = entry.get('step')
        for key, value in entry.items():
            if key == 'step' or step is None or not isinstance(value, (int, float)):
                continue
            steps, values = series.setdefault(key.removeprefix(_PREFIX), ([], []))
            steps.append(int(step))
            values.append(float(value))
    return series
