"""Per-iteration time and peak memory of RL-PyramidKD's three phases vs uniform KD.

Each trains a toy distiller (tools/train.py, the real runner, the toy data; ``--task``:
Faster R-CNN ``det`` by default, DeepLabV3+ ``seg``, ResNet ``cls``) for the same
iterations. An RL-PyramidKD run is one phase of the task's toy RL config alone (the
others given length 0): phase 1, warm-up (every level, no reward); phase 2, policy
learning (the policy samples every batch, the reward's lookahead scores every
``collect_interval``-th batch of the config: every batch on det, every 2nd on seg / cls;
PPO every ``update_interval`` scored batches), with the student trainable as the
full-scale configs ship it (``freeze=[]``: the toy config's frozen backbone would make
phase 2 look cheaper than what a user runs); phase 3, joint (scored every 10th batch).
Runs alternate (uniform, phase 1, 2, 3, uniform, ...) so all see the same machine
load; time = mean (and median) of mmengine's per-iteration ``time`` after the first 5
iterations (the mean includes the scored iterations), memory = peak
RSS of the process and, on a GPU, the peak CUDA memory mmengine logs
(``torch.cuda.max_memory_allocated``). Writes
``benchmarks/results/rl_overhead.{json,md}`` (``--tag`` / ``--out`` name other result files;
``--data``: the toy data, default the configs' ``data/...``). The whole run's cost follows
from the phase lengths and the three measured ratios, for the toy config's split and for
the full-scale configs' (1/4, 1/2, 1/4).

    .venv/bin/python benchmarks/rl_overhead.py [--task det] [--epochs 2 --repeats 2]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[1]
CFG = ROOT / 'configs'
TASKS = {  # task: (uniform KD config, RL-PyramidKD config, description)
    'det': ('faster_rcnn/kd-uniform_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py',
            'faster_rcnn/rlpkd_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py',
            'toy Faster R-CNN distiller, batch 8 of 128x128'),
    'seg': ('deeplabv3plus/kd-uniform_deeplabv3plus_r18w32-r18w16-d8_toy-ade.py',
            'deeplabv3plus/rlpkd_deeplabv3plus_r18w32-r18w16-d8_toy-ade.py',
            'toy DeepLabV3+ distiller, batch 16 of 64x64'),
    'cls': ('resnet/kd-uniform_resnet18w32-resnet18w16_toy-folder.py',
            'resnet/rlpkd_resnet18w32-resnet18w16_toy-folder.py',
            'toy ResNet classifier distiller, batch 32 of 64x64'),
}
RESULTS = ROOT / 'benchmarks' / 'results'
#: the full-scale configs' phase split (configs/_base_/schedules/rlpkd_phases.py)
FULL_SPLIT = (0.25, 0.5, 0.25)


def train(cfg: Path, work_dir: Path, options: list) -> dict:
    """Run tools/train.py; return per-iteration times, the child's peak RSS and, on a GPU,
    its peak CUDA memory (MiB)."""
    cmd = [sys.executable, str(ROOT / 'tools' / 'train.py'), str(cfg), '--work-dir',
           str(work_dir), '--cfg-options', *options]
    with open(work_dir.with_suffix('.log'), 'w') as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    if status:  # the log is in a temporary directory: show its end
        tail = work_dir.with_suffix('.log').read_text()[-3000:]
        sys.exit(f'{cfg.name} failed; the end of its log:\n{tail}')
    scalars = next(work_dir.rglob('vis_data/scalars.json')).read_text().splitlines()
    logs = [json.loads(line) for line in scalars if '"time"' in line and '"loss"' in line]
    return dict(times=[log['time'] for log in logs], peak_rss_mib=usage.ru_maxrss / 1024,
                peak_cuda_mib=max((log['memory'] for log in logs if 'memory' in log),
                                  default=None))


def machine() -> str:
    """``'CPU (N cores)'`` or the GPU's name."""
    import torch
    if torch.cuda.is_available():
        return f'GPU ({torch.cuda.get_device_name()})'
    return f'CPU ({os.cpu_count()} cores)'


def summarise(results: list) -> dict:
    """Median / mean s/iter after the first 5 iterations and peak memory over the runs."""
    times = [t for r in results for t in r['times'][5:]]
    cuda = [r['peak_cuda_mib'] for r in results if r['peak_cuda_mib'] is not None]
    return dict(median_iter_s=statistics.median(times), mean_iter_s=statistics.mean(times),
                peak_rss_mib=max(r['peak_rss_mib'] for r in results),
                peak_cuda_mib=max(cuda) if cuda else None)


def ratios_to(base: dict, other: dict) -> dict:
    ratios = dict(time_median=other['median_iter_s'] / base['median_iter_s'],
                  time_mean=other['mean_iter_s'] / base['mean_iter_s'],
                  memory_rss=other['peak_rss_mib'] / base['peak_rss_mib'])
    if base['peak_cuda_mib']:
        ratios['memory_cuda'] = other['peak_cuda_mib'] / base['peak_cuda_mib']
    return ratios


def phase_options(phase: int, length: int, collect_interval: Optional[int]) -> list:
    """--cfg-options running only RL phase ``phase`` (1, 2 or 3) for ``length`` epochs."""
    options = [f'train_cfg.phases.{i}.epochs={length if i == phase - 1 else 0}'
               for i in range(3)]
    if phase == 2:
        options.append('train_cfg.phases.1.freeze=[]')  # trainable, as the full configs ship
    if collect_interval is not None and phase > 1:
        options.append(f'train_cfg.phases.{phase - 1}.collect_interval={collect_interval}')
    return options


def whole_run(config: Config, ratios: dict) -> dict:
    """Cost of a whole RL-PyramidKD run / uniform KD's, from the per-phase mean time ratios.

    Args:
        config: the RL config; its ``train_cfg.phases`` give the toy split.
        ratios: ``{phase: mean time ratio}`` for phases 1, 2, 3.
    Returns:
        ``{'toy': (split, ratio), 'full': (split, ratio)}``; a split is the phases' shares.
    """
    lengths = [p.get('epochs', p.get('iters')) for p in config.train_cfg.phases]
    toy = tuple(n / sum(lengths) for n in lengths)
    per_phase = (ratios[1], ratios[2], ratios[3])
    return {name: (split, sum(w * r for w, r in zip(split, per_phase)))
            for name, split in (('toy', toy), ('full', FULL_SPLIT))}


def sample_cost(config: Config, ratio: float, collect_interval: Optional[int]) -> dict:
    """What one scored sample costs, in uniform-KD iterations, from phase 2's mean time ratio.

    Phase 2 scores ``k`` samples (its ``collect_samples``, else the whole batch) of every
    ``m``-th batch, so ``ratio ≈ 1 + cost · k / m`` and ``cost = (ratio − 1) · m / k``: the
    reward lookahead of the sample and its share of the learner's updates (the policy's
    forward on every batch is counted in too).

    Returns:
        ``dict(samples=k, interval=m, batch=B, cost=...)``.
    """
    phase = config.train_cfg.phases[1]
    batch = config.train_dataloader.batch_size
    samples = phase.get('collect_samples') or batch
    interval = collect_interval or phase.get('collect_interval', 1)
    return dict(samples=samples, interval=interval, batch=batch,
                cost=(ratio - 1) * interval / samples)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--epochs', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=2)
    parser.add_argument('--phases', type=int, nargs='+', choices=(1, 2, 3),
                        default=[1, 2, 3])
    parser.add_argument('--collect-interval', type=int, default=None,
                        help="score every this many batches (default: the config's per phase)")
    parser.add_argument('--task', choices=sorted(TASKS), default='det')
    parser.add_argument('--rl-variants', nargs='+', default=[''], metavar='OPTIONS',
                        help='one RL variant per argument: its space-separated extra '
                        "--cfg-options ('' = the config as it is)")
    parser.add_argument('--tag', default='', help='suffix of the result file names')
    parser.add_argument('--out', help='output stem (default: benchmarks/results/rl_overhead, '
                        '+ _<tag> with --tag)')
    parser.add_argument('--data', type=Path,
                        help="the task's toy data root (default: the configs' data/...)")
    parser.add_argument('--teacher-ckpt', default=None,
                        help='trained toy teacher (default: random teacher; timing only)')
    return parser.parse_args()


def measure(variants: dict, repeats: int, common: list) -> dict:
    """``{variant: summary}``: every variant trained ``repeats`` times, alternating."""
    runs = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(repeats):
            for i, (name, (cfg, opts)) in enumerate(variants.items()):
                runs[name].append(train(cfg, Path(tmp) / f'variant{i}_{repeat}',
                                        common + opts))
                print(name, repeat, statistics.median(runs[name][-1]['times'][5:]), flush=True)
    return {name: summarise(results) for name, results in runs.items()}


def report(args: argparse.Namespace, description: str, summary: dict, ratios: dict,
           whole: Optional[dict], per_sample: Optional[dict]) -> list:
    """The result file's markdown lines."""
    options = ' '.join(a if a and ' ' not in a else repr(a) for a in sys.argv[1:])
    lines = [f'Toy scale, {machine()}: {description}, {args.epochs} epochs x {args.repeats} '
             f'alternating runs each; `benchmarks/rl_overhead.py {options}`.', '',
             '| variant | median s/iter | mean s/iter | peak RSS (MiB) | peak CUDA (MiB) |',
             '|---|---|---|---|---|']
    for name, s in summary.items():
        cuda = f"{s['peak_cuda_mib']:.0f}" if s['peak_cuda_mib'] else '-'
        lines.append(f"| {name} | {s['median_iter_s']:.3f} | {s['mean_iter_s']:.3f} "
                     f"| {s['peak_rss_mib']:.0f} | {cuda} |")
    lines.append('')
    for name, r in ratios.items():
        memory = f"peak RSS {r['memory_rss']:.3f}x"
        if 'memory_cuda' in r:
            memory += f", peak CUDA memory {r['memory_cuda']:.3f}x"
        lines.append(f"{name} / uniform KD: time {r['time_mean']:.3f}x (mean; median "
                     f"{r['time_median']:.3f}x), {memory}.")
    for name, (split, ratio) in (whole or {}).items():
        shares = ' / '.join(f'{w:.2f}' for w in split)
        lines.append(f'Whole run, {name} phase split {shares}: '
                     f'{ratio:.3f}x uniform KD\'s time.')
    if per_sample:
        c = per_sample
        lines.append(f"One scored sample costs {c['cost']:.3f} uniform-KD iterations (phase 2 "
                     f"scores {c['samples']} samples of a batch of {c['batch']}, one batch in "
                     f"{c['interval']}): scoring n samples of one batch in m costs about "
                     f"1 + {c['cost']:.3f} n / m uniform-KD iterations per iteration.")
    return lines


def main() -> None:
    args = parse_args()
    common = [f'model.teacher_ckpt={args.teacher_ckpt}', 'default_hooks.logger.interval=1',
              'log_processor.window_size=1',  # per-iteration times, not running means
              'default_hooks.checkpoint.interval=1000', 'train_cfg.val_interval=1000',
              'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']
    if args.data:
        common.append(f'train_dataloader.dataset.data_root={args.data.resolve()}/')
    uniform_cfg, rl_cfg, description = TASKS[args.task]
    variants = {'uniform KD': (CFG / uniform_cfg, [f'train_cfg.max_epochs={args.epochs}'])}
    for phase in args.phases:
        for extra in args.rl_variants:
            name = f'RL-PyramidKD phase {phase}' + (f' [{extra}]' if extra else '')
            variants[name] = (CFG / rl_cfg, phase_options(phase, args.epochs,
                                                         args.collect_interval) + extra.split())
    summary = measure(variants, args.repeats, common)
    base = summary['uniform KD']
    ratios = {name: ratios_to(base, s) for name, s in summary.items() if s is not base}
    whole = per_sample = None
    config = Config.fromfile(CFG / rl_cfg)
    if 'RL-PyramidKD phase 2' in ratios:
        per_sample = sample_cost(config, ratios['RL-PyramidKD phase 2']['time_mean'],
                                 args.collect_interval)
    if all(f'RL-PyramidKD phase {p}' in ratios for p in (1, 2, 3)):
        whole = whole_run(config, {p: ratios[f'RL-PyramidKD phase {p}']['time_mean']
                                         for p in (1, 2, 3)})
    out = Path(args.out or RESULTS / ('rl_overhead' + (f'_{args.tag}' if args.tag else '')))
    out.parent.mkdir(parents=True, exist_ok=True)
    recorded = {k: v for k, v in vars(args).items()  # as before --out / --data, by default
                if v is not None or k not in ('out', 'data')}
    if args.data:
        recorded['data'] = str(args.data)
    out.with_name(out.name + '.json').write_text(json.dumps(
        dict(args=recorded, machine=machine(), summary=summary, ratios=ratios,
             whole_run=whole, scored_sample=per_sample), indent=1))
    lines = report(args, description, summary, ratios, whole, per_sample)
    out.with_name(out.name + '.md').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
