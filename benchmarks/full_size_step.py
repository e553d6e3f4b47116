"""The full-size training step a user pays: Faster R-CNN R101-FPN -> R50-FPN, 1333x800, batch 2.

``--iters`` iterations of ``--config`` through mmengine's Runner, with the config's own
models, train loop, optimiser, schedulers and hooks. The RL-PyramidKD config (default)
runs them all in its policy-learning phase, the expensive one: the policy samples every
batch's levels, the reward lookahead scores every batch, PPO updates every 4 scored
batches; the uniform-KD config (``kd-uniform_faster-rcnn_r101-r50_fpn_1x_coco.py``) runs
its own step. Offline (:mod:`rlpkd.benchmarking.offline`, image-size factor 1): the data
are generated toy COCO images (``--data``, else generated in a temporary folder), each
resized to exactly ``--size`` (aspect ratio not kept); teacher and student keep their
initial weights (no checkpoint, no download). ``--amp``: ``AmpOptimWrapper``, as
``tools/train.py --amp``. On CUDA when available, else on CPU.

Writes ``<out>.json`` and ``<out>.md`` (default ``benchmarks/results/full_size_step``):
mean and median s/iter (mmengine's per-iteration ``time``, data loading included) after
the first 2 iterations, peak CUDA memory (``torch.cuda.max_memory_allocated``, MiB) and
the process's peak RSS (MiB), what the learning phase scored. ``--baseline B.json``: also the
ratio of mean time and peak memory to that earlier result (e.g. the uniform-KD config's, run
just before on the same machine).

    python benchmarks/full_size_step.py [--config CFG] [--iters 6] [--size 1333 800] [--amp]
        [--work-dir DIR] [--baseline EARLIER.json]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Optional

import torch
from mmengine.config import Config

import rlpkd  # noqa: F401  (registers the components)
from rlpkd.apis import cli
from rlpkd.benchmarking.offline import fixed_image_size, offline_config
from rlpkd.datasets import generate_toy_coco

ROOT = Path(__file__).resolve().parents[1]
RL_CONFIG = 'configs/faster_rcnn/rlpkd_faster-rcnn_r101-r50_fpn_40e_coco.py'
FULL_SIZE = (1333, 800)
SKIP = 2  # first iterations, not timed (CUDA / cuDNN warm-up)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=RL_CONFIG, help='a Faster R-CNN KD config')
    parser.add_argument('--iters', type=int, default=6,
                        help=f'training iterations (> {SKIP}: the first {SKIP} are not timed)')
    parser.add_argument('--size', type=int, nargs=2, default=list(FULL_SIZE),
                        metavar=('W', 'H'), help='every image resized to W x H pixels')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision, as tools/train.py --amp (CUDA only)')
    parser.add_argument('--out', default='benchmarks/results/full_size_step',
                        help='output stem: <out>.json, <out>.md')
    parser.add_argument('--work-dir', type=Path,
                        help="the runner's logs (default: work_dirs/full_size_step/<config>)")
    parser.add_argument('--baseline', type=Path,
                        help="an earlier result's .json: report the ratios to it")
    parser.add_argument('--data', type=Path,
                        help='toy COCO root (default: generated into a temporary folder)')
    args = parser.parse_args()
    if args.iters <= SKIP:
        parser.error(f'--iters must be > {SKIP}')
    if args.amp and not torch.cuda.is_available():
        parser.error('--amp needs a CUDA device')
    return args


def build_config(args: argparse.Namespace, data: Path, work_dir: Path) -> Config:
    """``--config`` made to run offline on ``data`` for ``--iters`` iterations of
    ``--size`` images (batch 2), logging every iteration."""
    path = args.config if Path(args.config).is_file() else str(ROOT / args.config)
    cfg = cli.load_config(path, str(work_dir))
    offline_config(cfg, 'det', data, work_dir, factor=1, iters=args.iters)
    fixed_image_size(cfg.train_dataloader.dataset, args.size)
    cfg.default_hooks.logger.interval = 1
    if args.amp:
        cli.enable_amp(cfg)
    return cfg


def scored(runner) -> Optional[dict]:
    """What the learning phase's learner received (None without one): its updates (one
    per ``update_interval`` scored batches, counted in the learner statistics logged by
    ``PolicyStatsHook``) and the scored batches still pending."""
    loop = runner.train_loop
    phase = getattr(loop, 'active_phase', None)
    if phase is None or phase.learner is None:
        return None
    learner = loop.learners[phase.learner]
    prefix = f'train/{learner.log_prefix}/'
    logged = [b for key, b in runner.message_hub.log_scalars.items() if key.startswith(prefix)]
    updates = len(logged[0].data[0]) if logged else 0
    return dict(phase=phase.name, collect_interval=phase.collect_interval,
                update_interval=phase.update_interval, updates=updates,
                pending=learner.num_pending,
                scored_batches=updates * phase.update_interval + learner.num_pending)


def train(cfg: Config) -> dict:
    """Train; per-iteration seconds, peak memory (MiB), what the learner received."""
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    torch.manual_seed(0)
    runner = cli.build_runner(cfg)
    runner.train()
    times = [float(t) for t in runner.message_hub.get_scalar('train/time').data[0]]
    return dict(batch=cfg.train_dataloader.batch_size, iterations=runner.iter, times=times,
                peak_cuda_mib=torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
                peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                experience=scored(runner))


def device() -> str:
    if torch.cuda.is_available():
        return f'GPU ({torch.cuda.get_device_name()})'
    return f'CPU ({os.cpu_count()} cores)'


def report(record: dict) -> list:
    """The Markdown lines of ``record``; toy-scale or CPU numbers are labelled so."""
    width, height = record['size']
    lines = ['# Full-size training step', '']
    if record['peak_cuda_mib'] is None:
        lines.append('**CPU run: not the GPU cost a user pays.**')
    if tuple(record['size']) != FULL_SIZE:
        lines.append(f'**Toy scale: {width}x{height} images, not the full '
                     f'{FULL_SIZE[0]}x{FULL_SIZE[1]}.**')
    memory = (f"peak CUDA memory {record['peak_cuda_mib']:.0f} MiB "
              '(torch.cuda.max_memory_allocated)' if record['peak_cuda_mib'] is not None
              else f"peak RSS {record['peak_rss_mib']:.0f} MiB")
    lines += [
        '', f"- device: {record['device']}; AMP: {'yes' if record['amp'] else 'no'}",
        f"- config: `{record['config']}`",
        f"- images: {width}x{height} (every image resized to exactly this), batch "
        f"{record['batch']}; generated toy COCO images, initial weights (no checkpoint)",
        f"- iterations: {record['iterations']}, timed after the first {SKIP}: "
        f"mean {record['mean_iter_s']:.3f} s/iter, median {record['median_iter_s']:.3f} "
        f's/iter; {memory}']
    exp = record['experience']
    if exp:
        lines.append(f"- phase {exp['phase']!r}: {exp['scored_batches']} batches scored by "
                     f"the reward lookahead (every {exp['collect_interval']}), "
                     f"{exp['updates']} PPO updates (every {exp['update_interval']})")
    base = record.get('baseline')
    if base:
        lines.append(f"- against `{base['config']}` ({base['file']}): time "
                     f"{base['time_mean']:.3f}x (mean), peak memory {base['memory']:.3f}x")
    lines += ['', f"Command: `{record['command']}`"]
    return lines


def read_baseline(path: Path, size: list) -> dict:
    """The earlier result in ``path``, checked before training: ``ValueError`` naming the file
    when it is not one of this script's results or differs in device or image size."""
    try:
        base = json.loads(path.read_text())
        mismatch = [(key, base[key], mine) for key, mine in (('device', device()), ('size', size))
                    if base[key] != mine]
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(f'--baseline {path}: not a full_size_step.py result ({err})') from err
    if mismatch:
        raise ValueError(f'--baseline {path}: ' + '; '.join(
            f'its {key} is {theirs!r}, this run\'s {mine!r}' for key, theirs, mine in mismatch))
    return base


def ratios_to(record: dict, base: dict, path: Path) -> dict:
    """Mean time and peak memory (CUDA on a GPU, else RSS) of ``record`` / ``base``."""
    memory = 'peak_cuda_mib' if record['peak_cuda_mib'] is not None else 'peak_rss_mib'
    return dict(file=str(path), config=base['config'],
                time_mean=record['mean_iter_s'] / base['mean_iter_s'],
                memory=record[memory] / base[memory])


def main() -> None:
    args = parse_args()
    script = Path(sys.argv[0]).resolve()
    shown = script.relative_to(ROOT) if script.is_relative_to(ROOT) else script
    command = shlex.join(['python', str(shown), *sys.argv[1:]])
    base = read_baseline(args.baseline, list(args.size)) if args.baseline else None
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data
        if data is None:
            data = Path(tmp) / 'data'
            generate_toy_coco(data, num_train=4, num_val=1, seed=0)
        # a lasting work dir: mm's visualizer is a process-wide instance that keeps writing
        # there after the run (the next runner of the process reuses it)
        work_dir = args.work_dir or ROOT / 'work_dirs' / 'full_size_step' / Path(args.config).stem
        result = train(build_config(args, data.resolve(), work_dir.resolve()))
    timed = result['times'][SKIP:]
    record = dict(device=device(), config=args.config, size=list(args.size),
                  amp=args.amp, mean_iter_s=statistics.mean(timed),
                  median_iter_s=statistics.median(timed), timed_iterations=len(timed),
                  **result, data=str(args.data) if args.data else 'generated',
                  command=command)
    if base:
        record['baseline'] = ratios_to(record, base, args.baseline)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_name(out.name + '.json').write_text(json.dumps(record, indent=1))
    lines = report(record)
    out.with_name(out.name + '.md').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
