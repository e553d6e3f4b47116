"""Train / test runs of the toy-detection studies, through the real ``tools/*.py``.

A run is one config trained with one seed and tested on the val set; its
``result.json`` (method, seed, train seconds, test metrics) makes it reusable: a
benchmark run again skips every finished run. Used by ``benchmarks/known_answer.py``
and ``benchmarks/toy_detection_seeds.py``; the tables are mean ± std over seeds. Their
benchmark-only components are registered by ``custom_imports`` of
``rlpkd.benchmarking.parts``.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint

from rlpkd.registry import MODELS

from .launch import run_tool
from .tables import format_cell, stats

CFG = Path(__file__).resolve().parents[2] / 'configs' / 'faster_rcnn'
TEACHER = CFG / 'faster-rcnn_r18-w32_fpn_toy-coco.py'
UNIFORM = CFG / 'kd-uniform_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'
RL = CFG / 'rlpkd_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'
LEVELS = ('P2', 'P3', 'P4', 'P5')


def tool(name: str, *args, log: Path) -> None:
    """Run ``tools/<name>`` with this interpreter; raise
    :class:`rlpkd.benchmarking.ToolError` on failure naming the log."""
    run_tool(name, args, log)


def data_options(data: Path, rl: bool) -> list[str]:
    """``--cfg-options`` pointing a toy detection config at ``data`` (no val during
    training, one checkpoint at the end)."""
    ann = f'{data}/annotations/instances_val.json'
    opts = [f'{k}_dataloader.dataset.data_root={data}/' for k in ('train', 'val', 'test')]
    opts += [f'val_evaluator.ann_file={ann}',
             f"test_evaluator{'.0' if rl else ''}.ann_file={ann}",
             'train_cfg.val_interval=1000', 'default_hooks.checkpoint.interval=1000']
    return opts


def schedule_options(rl: bool, epochs: int) -> list[str]:
    """``epochs`` in total; an RL run splits them into its three phases."""
    if not rl:
        return [f'train_cfg.max_epochs={epochs}']
    third = epochs // 3
    return [f'train_cfg.phases.{i}.epochs={n}'
            for i, n in enumerate((third, third, epochs - 2 * third))]


def train_teacher(work: Path, data: Path) -> Path:
    """The toy teacher on ``data`` (12 epochs), trained once under ``work/teacher``."""
    teacher = work / 'teacher' / 'epoch_12.pth'
    if not teacher.exists():
        tool('train.py', TEACHER, '--work-dir', work / 'teacher', '--cfg-options',
             *data_options(data, False)[:-2], log=work / 'teacher.log')
    return teacher.resolve()


def train_and_test(work: Path, method: str, seed: int, base_cfg: Path, options: Sequence[str],
                   epochs: int, test_options: Sequence[str] = (),
                   imports: Sequence[str] = ('rlpkd', ),
                   post: Optional[Callable[[Path], dict]] = None) -> dict:
    """Train ``base_cfg`` + ``options`` for ``epochs`` with ``seed``, test the last
    checkpoint; reuse ``work/result.json`` when it exists.

    ``imports`` become the config's ``custom_imports`` (a config file, not
    ``--cfg-options``, so that mmengine imports benchmark parts); ``post(work)`` adds
    entries to the result (e.g. read from the decisions the test dumped).
    """
    done = work / 'result.json'
    if done.exists():
        return json.loads(done.read_text())
    work.mkdir(parents=True, exist_ok=True)
    config = work / 'config.py'
    config.write_text(f"_base_ = ['{base_cfg}']\ncustom_imports = dict(imports="
                      f"{list(imports)!r}, allow_failed_imports=False)\n")
    opts = [*options, f'randomness.seed={seed}',
            *schedule_options(base_cfg == RL, epochs)]
    start = time.time()
    tool('train.py', config, '--work-dir', work, '--cfg-options', *opts,
         log=work / 'train.log')
    train_s = time.time() - start
    tool('test.py', config, work / f'epoch_{epochs}.pth', '--work-dir', work / 'test',
         '--cfg-options', *opts, *test_options, log=work / 'test.log')
    metrics = json.loads((work / 'test' / 'metrics.json').read_text())
    result = dict(method=method, seed=seed, train_s=train_s, metrics=metrics)
    if post is not None:
        result.update(post(work))
    done.write_text(json.dumps(result, indent=1))
    return result


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
