"""Figures of a learned level selector: what it decides on the test set, how it trained.

Usage::

    python tools/analyze_policy.py CONFIG CKPT [--work-dir OUT] [--benchmark RESULTS_JSON]
        [--log-dir RUN_DIR] [--num-examples N] [--cfg-options k=v ...]

Runs CONFIG with CKPT over its test set with mmengine's Runner (as ``tools/test.py``),
with the config's ``rlpkd.LevelSelectionMetric`` (in ``test_evaluator``) dumping each
image's decision to ``OUT/decisions.jsonl``, then writes PNG files into ``OUT``
(default ``work_dirs/analyze_policy/<config stem>``) and prints their paths:

- ``selection_by_group.png``: per-level selection rate, all images and per image group
  (the metric's ``group_file``: the toy data's size group small / large / mixed).
- ``selection_by_class.png``: the same per class, for datasets whose samples carry one
  class label (classification).
- ``examples.png``: ``--num-examples`` test images, each captioned with its decision
  (``P2 P3 · P5``: kept levels, ``·`` for dropped ones), its cost fraction and group.
- ``pareto.png`` (with ``--benchmark``, the run records of ``tools/benchmark.py``): the
  main metric vs distillation-cost fraction, one point per λ of the λ sweep (mean over
  seeds, std as error bars), uniform KD and each NAS method, and the Pareto front.
- ``ppo_curves.png`` and ``gradnorm_weights.png``: PPO reward / entropy / approx-KL /
  clip fraction and the GradNorm level weights over training, from the newest
  ``*/vis_data/scalars.json`` under ``--log-dir`` (default: CKPT's folder). A run that
  logged none of them (no PPO learner, no ``model.balancer``) gets a note, not a figure.

TensorBoard: the same training scalars (``rl/*`` of ``rlpkd.PolicyStatsHook``,
``gradnorm_w_*``, ``select_*``, losses) already reach every mmengine visualizer backend
(the hook writes through the message hub). Enable TensorBoard in the *training* config
(``--cfg-options`` cannot express a list of dicts)::

    _base_ = ['./rlpkd_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py']  # relative to this file
    visualizer = dict(vis_backends=[dict(type='LocalVisBackend'),
                                    dict(type='TensorboardVisBackend')])

(keep ``LocalVisBackend``: this tool reads its ``scalars.json``; TensorBoard needs the
``tensorboard`` package), then ``tensorboard --logdir <work_dir>/<timestamp>/vis_data``.

The group file of the toy configs is relative to the working directory; point it at your
data, e.g. ``--cfg-options test_evaluator.1.group_file=DATA/annotations/instances_val.json``.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

try:  # importing rlpkd registers its components
    import rlpkd
except ImportError:  # run from a checkout without ``pip install``
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import rlpkd  # noqa: F401

from mmengine.config import Config
from mmengine.dist import is_main_process

from rlpkd.apis import check_annotation_files, cli
from rlpkd.visualization import (
    class_of_images,
    find_scalars_file,
    load_decisions,
    load_records,
    load_scalars,
    plot_examples,
    plot_gradnorm_weights,
    plot_pareto,
    plot_ppo_curves,
    plot_selection_by_class,
    plot_selection_by_group,
)

METRIC_TYPES = ('rlpkd.LevelSelectionMetric', 'LevelSelectionMetric')
DEFAULT_LEVELS = ('P2', 'P3', 'P4', 'P5')  # LevelSelectionMetric's default level_names


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config of a distiller with a learned selector')
    parser.add_argument('checkpoint', help='its checkpoint')
    parser.add_argument('--benchmark', help='run records (JSON list) for pareto.png')
    parser.add_argument('--log-dir', help='training work_dir with */vis_data/scalars.json '
                        '(default: the checkpoint\'s folder)')
    parser.add_argument('--num-examples', type=int, default=8,
                        help='images in examples.png')
    cli.add_common_args(parser)
    return cli.parse_and_set_local_rank(parser, argv)


def check_inputs(args: argparse.Namespace) -> None:
    """Fail early, naming the argument, on a missing input file or a bad count."""
    for name, path, kind in (('CONFIG', args.config, 'file'), ('CKPT', args.checkpoint, 'file'),
                             ('--benchmark', args.benchmark, 'file'),
                             ('--log-dir', args.log_dir, 'directory')):
        if path is not None and not (Path(path).is_file() if kind == 'file'
                                     else Path(path).exists()):
            raise FileNotFoundError(f'`{name}`: no such {kind}: {path}')
    if args.num_examples < 1:
        raise ValueError(f'`--num-examples` must be >= 1, got {args.num_examples}')


def selection_metrics(evaluator: Any) -> list[Any]:
    """The ``LevelSelectionMetric`` configs of a ``test_evaluator`` (a metric, a list of
    metrics, or an ``Evaluator`` dict with ``metrics``)."""
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        evaluator = evaluator['metrics']
    metrics = evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
    return [m for m in metrics if isinstance(m, dict) and m.get('type') in METRIC_TYPES]


def set_selection_dump(cfg: Config, dump_file: Path) -> tuple[str, ...]:
    """Make the config's ``LevelSelectionMetric`` write ``dump_file``; return its level
    names.

    Raises:
        ValueError: ``test_evaluator`` has no ``rlpkd.LevelSelectionMetric``.
    """
    found = selection_metrics(cfg.get('test_evaluator'))
    if not found:
        raise ValueError('`test_evaluator` of the config has no rlpkd.LevelSelectionMetric; '
                         "add dict(type='rlpkd.LevelSelectionMetric', level_names=(...)) to "
                         'it (the RL configs have it as test_evaluator[1])')
    found[0]['dump_file'] = str(dump_file)
    return tuple(found[0].get('level_names', DEFAULT_LEVELS))


def run_test(cfg: Config) -> Any:
    """Test ``cfg.load_from`` as ``tools/test.py`` does; return the test dataset."""
    check_annotation_files(cfg, ('test_dataloader', ))
    runner = cli.build_runner(cfg)
    runner.test()
    return runner.test_loop.dataloader.dataset


def training_figures(scalars_file: Path | None, out: Path) -> list[Path]:
    """``ppo_curves.png`` and ``gradnorm_weights.png`` from a run's ``scalars.json``;
    a note for each that the log cannot give."""
    if scalars_file is None:
        print('note: no */vis_data/scalars.json under --log-dir; no training curves')
        return []
    scalars, written = load_scalars(scalars_file), []
    for name, plot, what in (('ppo_curves.png', plot_ppo_curves, 'PPO statistics (rl/*)'),
                             ('gradnorm_weights.png', plot_gradnorm_weights,
                              'GradNorm weights (gradnorm_w_*)')):
        if plot(scalars, out / name) is None:
            print(f'note: {scalars_file} logs no {what}; {name} skipped')
        else:
            written.append(out / name)
    return written


def decision_figures(dump: Path, dataset: Any, level_names: Sequence[str], out: Path,
                     num_examples: int) -> list[Path]:
    """``selection_by_group.png``, ``selection_by_class.png`` (classification only) and
    ``examples.png`` from the decision dump."""
    records = load_decisions(dump)
    plot_selection_by_group(records, level_names, out / 'selection_by_group.png')
    written = [out / 'selection_by_group.png']
    classes = class_of_images(dataset)
    if classes and plot_selection_by_class(records, level_names, classes,
                                           out / 'selection_by_class.png') is not None:
        written.append(out / 'selection_by_class.png')
    plot_examples(records, level_names, out / 'examples.png', num_examples)
    return [*written, out / 'examples.png']


def main(argv: Sequence[str] | None = None) -> list[Path]:
    """Test the checkpoint, write the figures; return (and print) the files written."""
    args = parse_args(argv)
    check_inputs(args)
    out = Path(args.work_dir or Path('work_dirs', 'analyze_policy', Path(args.config).stem))
    cfg = cli.load_config(args.config, str(out), args.cfg_options, args.launcher)
    level_names = set_selection_dump(cfg, out.resolve() / 'decisions.jsonl')
    # find the training log before this test run adds a timestamped folder of its own
    scalars_file = find_scalars_file(args.log_dir or Path(args.checkpoint).parent)
    cfg.load_from = args.checkpoint  # before the guard, which names it CKPT
    with cli.checkpoint_guard(cfg, args.trust_checkpoint, 'CKPT'):
        dataset = run_test(cfg)
    cli.finish_distributed()
    if not is_main_process():
        return []
    written = decision_figures(out / 'decisions.jsonl', dataset, level_names, out,
                               args.num_examples)
    if args.benchmark:
        plot = plot_pareto(load_records(args.benchmark), out / 'pareto.png')
        written.append(out / 'pareto.png')
        if plot.skipped:
            print(f'note: pareto.png leaves out runs without cost or metric: {plot.skipped}')
    written += training_figures(scalars_file, out)
    print('figures written:\n' + '\n'.join(f'  {path}' for path in written), flush=True)
    return written


if __name__ == '__main__':
    main()
