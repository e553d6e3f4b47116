"""The toy-detection studies' methods, on the benchmark's one engine.

``benchmarks/known_answer.py`` and ``benchmarks/toy_detection_seeds.py`` compare methods
that are not rows of ``tools/benchmark.py``'s tables (hand-picked subsets, controls,
reward variants, the known-answer benchmark's corrupted teacher). Each is a
:class:`~rlpkd.benchmarking.plan.Method` of the detection task
(:data:`~rlpkd.benchmarking.plan.TASKS` ``['det']``), run by
:func:`~rlpkd.benchmarking.suite.run_plan` like every benchmark run: through the real
tools, one ``result.json`` per finished run (reused), the test-time decisions of a
learned run in its ``decisions.jsonl``. Their benchmark-only components are imported
by the runs' configs (``custom_imports`` of ``rlpkd.benchmarking.parts``).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Sequence

from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint

from rlpkd.registry import MODELS

from .plan import DET_MODEL, TASKS, Method
from .runner import DECISIONS
from .tables import format_cell, stats

DET = TASKS['det']
LEVELS = DET.levels
#: RL-PyramidKD with the per-level signal state and per-level credit
DET_LEVEL_CREDIT = f'faster_rcnn/rlpkd-levelcredit_{DET_MODEL}.py'
#: the configs with RL-PyramidKD's phase schedule and its selection metric
RL_CONFIGS = (DET.rl, DET_LEVEL_CREDIT)
#: every study run: no validation during training, one checkpoint at the end
RUN_OPTIONS = ('train_cfg.val_interval=1000', 'default_hooks.checkpoint.interval=1000')
PARTS = ('rlpkd.benchmarking.parts', )


def epochs_options(config: str, epochs: int) -> List[str]:
    """``epochs`` in total; a run of the RL config splits them into its three phases."""
    if config not in RL_CONFIGS:
        return [f'train_cfg.max_epochs={epochs}']
    third = epochs // 3
    return [f'train_cfg.phases.{i}.epochs={n}'
            for i, n in enumerate((third, third, epochs - 2 * third))]


def study_methods(table: Dict[str, tuple], epochs: int,
                  names: Sequence[str]) -> List[Method]:
    """The :class:`Method` of each ``label -> (config, options)`` of ``table`` named in
    ``names``, trained for ``epochs``. A run of an RL config (its ``test_evaluator``
    is ``[CocoMetric, LevelSelectionMetric]``) is a learned run (family
    ``ablation``), whatever its selector; the student's own config is family
    ``student`` (no teacher); the others are family ``fixed``."""
    def family(config: str) -> str:
        return 'ablation' if config in RL_CONFIGS else \
            'student' if config == DET.student else 'fixed'
    return [Method(''.join(c if c.isalnum() else '_' for c in label), label, family(config),
                   config, (*options, *epochs_options(config, epochs)), imports=PARTS)
            for label, (config, options) in table.items() if label in names]


def decisions(root: Path, method: Method, seed: int) -> List[dict]:
    """The test-time decisions of a learned run (one record per val image)."""
    path = root / method.key / f'seed_{seed}' / DECISIONS
    return [json.loads(line) for line in path.read_text().splitlines()]


def mean_std(values: Sequence[float]) -> str:
    """``'m ± s'`` (sample std) over seeds; ``'–'`` without values."""
    return format_cell(stats(values), 3)


def column(runs: Sequence[dict], key: str) -> str:
    """``mean_std`` of test metric ``key`` over ``runs``."""
    return mean_std([r['metrics'][key] for r in runs if key in r['metrics']])


def load_finished_run(run: Path):
    """A finished run's distiller (its test config, last checkpoint; eval mode) and its
    val loader."""
    cfg = Config.fromfile(run / 'test' / 'config.py')
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(cfg.model)
    last = max(run.glob('epoch_*.pth'), key=lambda p: int(p.stem.split('_')[1]))
    load_checkpoint(model, str(last), map_location='cpu')
    model.eval()
    cfg.val_dataloader.num_workers = 0
    cfg.val_dataloader.pop('persistent_workers', None)
    return model, Runner.build_dataloader(cfg.val_dataloader, seed=0)
