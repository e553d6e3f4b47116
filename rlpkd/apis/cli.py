"""Argument and config handling shared by ``tools/train.py`` and ``tools/test.py``.

Every helper reproduces what MMDetection 3.x does in its own ``tools/*.py``, without
importing mmdet, so the same scripts drive mmdet, mmseg and mmpretrain configs.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import os.path as osp
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner, find_latest_checkpoint

from rlpkd.models.utils import resolve_relative_cfg_paths, untag_rlpkd_scope
from rlpkd.utils.checkpoint_io import checkpoint_keys, trusted_checkpoints

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')
DUMP_METRIC = 'mmengine.DumpResults'


def add_common_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--work-dir``, ``--cfg-options``, ``--launcher``, ``--local-rank`` and
    ``--trust-checkpoint``."""
    parser.add_argument('--work-dir', help='the dir to save logs, models and metrics')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, as key=value pairs merged into it; '
        'lists as key="[a,b]" or key=a,b, nested as key="[(a,b),(c,d)]" '
        '(quotes needed, no white space)')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank (torch>=2.0) or --local_rank
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    add_trust_arg(parser)
    return parser


def add_trust_arg(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--trust-checkpoint`` (:mod:`rlpkd.utils.checkpoint_io`)."""
    parser.add_argument(
        '--trust-checkpoint', action='store_true',
        help='unpickle the checkpoints this run reads with everything they ask for, not '
        "only rlpkd's allow-list; only for files you trust (a pickle can run any code); "
        'same as trust_checkpoint = True in the config')
    return parser


@contextlib.contextmanager
def checkpoint_guard(cfg: Config, trust_flag: bool = False,
                     load_from_key: str = 'load_from') -> Iterator[None]:
    """Checkpoint reads inside the block (build the runner, train, test) as the user said.

    Trusted (everything unpickled) only with ``--trust-checkpoint`` (``trust_flag``) or a
    config's ``trust_checkpoint = True``; otherwise the allow-list of
    :mod:`rlpkd.utils.checkpoint_io`. An error about the runner's ``load_from`` (or the
    checkpoint ``resume`` finds in ``work_dir``) names ``load_from_key``.

    Raises:
        TypeError: ``trust_checkpoint`` is not a bool.
    """
    trusted = cfg.get('trust_checkpoint', False)
    if not isinstance(trusted, bool):
        raise TypeError(f'`trust_checkpoint` must be True or False, got {trusted!r}')
    path = cfg.get('load_from')
    if path is None and cfg.get('resume', False) is True:
        path = find_latest_checkpoint(cfg.work_dir)
    with trusted_checkpoints(trust_flag or trusted), checkpoint_keys({path: load_from_key}):
        yield


def parse_and_set_local_rank(parser: argparse.ArgumentParser,
                             argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse ``argv`` and export ``LOCAL_RANK`` unless the launcher already did."""
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def load_config(path: str, work_dir: str | None = None,
                cfg_options: dict[str, Any] | None = None,
                launcher: str = 'none') -> Config:
    """Load ``path``, set ``launcher``, merge ``cfg_options`` and settle ``work_dir``.

    ``work_dir`` priority, as in mmdet: CLI > config file > ``./work_dirs/<config stem>``.
    A relative ``cfg_path`` under ``model`` in the file is read next to the file, as
    ``_base_`` is (:func:`read_config`); one given in ``cfg_options`` is read from the
    working directory, as every command-line path.
    """
    cfg = read_config(path)
    cfg.launcher = launcher
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(path))[0])
    return cfg


def read_config(path: str) -> Config:
    """``Config.fromfile(path)`` as rlpkd's configs mean it, from any folder.

    - A relative ``cfg_path`` under ``model`` is read next to ``path``: mmengine resolves
      ``_base_`` against the config file's folder but leaves every other path as written,
      and the distiller sees only the ``model`` dict, so a ``cfg_path`` (a config file,
      like ``_base_``) is made absolute here, where the file is known
      (:func:`rlpkd.models.utils.resolve_relative_cfg_paths`). Other tools get the same
      with ``cfg_path='{{ fileDirname }}/student.py'``.
    - Task types inherited through ``rlpkd::`` bases build in the config's
      ``default_scope``, not in scope ``rlpkd``
      (:func:`rlpkd.models.utils.untag_rlpkd_scope`).
    """
    cfg = Config.fromfile(path)
    untag_rlpkd_scope(cfg)
    resolve_relative_cfg_paths(cfg.get('model'), path)
    return cfg


def enable_amp(cfg: Config) -> None:
    """Switch ``optim_wrapper`` to ``AmpOptimWrapper`` with a dynamic loss scale."""
    wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper == 'AmpOptimWrapper':
        print_log('AMP training is already enabled in your config.',
                  logger='current', level=logging.WARNING)
        return
    if wrapper != 'OptimWrapper':
        raise ValueError('`--amp` is only supported when the optimizer wrapper type is '
                         f'`OptimWrapper` but got {wrapper}.')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'


def enable_auto_scale_lr(cfg: Config) -> None:
    """Turn on ``auto_scale_lr``; the config must define ``enable`` and ``base_batch_size``."""
    scale = cfg.get('auto_scale_lr', None)
    if not scale or 'enable' not in scale or 'base_batch_size' not in scale:
        raise RuntimeError('Can not find "auto_scale_lr" or "auto_scale_lr.enable" or '
                           '"auto_scale_lr.base_batch_size" in your configuration file.')
    cfg.auto_scale_lr.enable = True


def set_resume(cfg: Config, resume: str | None) -> None:
    """Apply ``--resume``: ``'auto'`` resumes from the latest checkpoint, a path from it."""
    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif resume is not None:
        cfg.resume = True
        cfg.load_from = resume


def add_dump_results(cfg: Config, out: str) -> None:
    """Append mmengine's ``DumpResults`` to ``cfg.test_evaluator`` to pickle predictions."""
    if not out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'The dump file must be a pkl file, got {out}')
    dump = {'type': DUMP_METRIC, 'out_file_path': out}
    evaluator = cfg.get('test_evaluator', None)
    if evaluator is None:
        metrics: list[Any] = [dump]
    elif isinstance(evaluator, (list, tuple)):
        metrics = [*evaluator, dump]
    elif 'metrics' in evaluator:  # a full Evaluator config: dict(type=..., metrics=...)
        inner = evaluator['metrics']
        inner = list(inner) if isinstance(inner, (list, tuple)) else [inner]
        evaluator['metrics'] = [*inner, dump]
        return
    else:
        metrics = [evaluator, dump]
    cfg.test_evaluator = metrics


def build_runner(cfg: Config) -> Runner:
    """Build the runner, through ``RUNNERS`` when the config names a ``runner_type``."""
    if cfg.get('launcher', 'none') != 'none' and not torch.cuda.is_available():
        init_cpu_distributed(cfg)
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)


def init_cpu_distributed(cfg: Config) -> None:
    """Let ``--launcher pytorch`` run on CPU-only machines (gloo), e.g. for tests.

    mmengine's launcher always calls ``torch.cuda.set_device``; initialising the process
    group first makes the runner skip its own initialisation. The DDP wrapper then gets
    ``device_ids=None``, which is what DDP requires for CPU modules. GPU runs are untouched.
    """
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend='gloo')
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper


def finish_distributed() -> None:
    """Tear the process group down once the run is over (all ranks, after a barrier), as
    PyTorch asks: left to interpreter exit, the gloo threads of a 2-process CPU run were
    seen to abort one rank ("terminate called without an active exception")."""
    if torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


def save_metrics(metrics: dict[str, Any] | None, work_dir: str) -> str:
    """Write ``metrics`` to ``<work_dir>/metrics.json``; return them as one JSON line."""
    line = json.dumps(metrics or {}, default=_jsonable, sort_keys=True)
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'metrics.json'), 'w', encoding='utf-8') as f:
        f.write(line + '\n')
    return line


def _jsonable(obj: Any) -> Any:
    """numpy scalars/arrays and tensors -> Python numbers/lists; anything else -> str."""
    if hasattr(obj, 'tolist'):
        return obj.tolist()
    return str(obj)
