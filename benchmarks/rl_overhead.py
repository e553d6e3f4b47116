"""Per-iteration time and peak memory of RL-PyramidKD (phase 3) vs uniform KD.

Both train the toy Faster R-CNN distiller (tools/train.py, the real runner, the toy
data) for the same iterations; RL-PyramidKD runs only its joint phase (policy sampling
every iteration, reward scoring every ``rollout_interval``-th, PPO every
``ppo_interval`` scored batches). Runs alternate (uniform, RL, uniform, RL, ...) so both
see the same machine load; time = median of mmengine's per-iteration ``time`` after the
first 5 iterations, memory = peak RSS of the process (CPU) or peak CUDA memory.
Writes ``benchmarks/results/rl_overhead.{json,md}``. Toy-scale CPU numbers.

    .venv/bin/python benchmarks/rl_overhead.py [--epochs 2 --repeats 2]
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

ROOT = Path(__file__).resolve().parents[1]
CFG = ROOT / 'configs' / 'faster_rcnn'
UNIFORM = CFG / 'kd-uniform_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'
RL = CFG / 'rlpkd_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'
RESULTS = ROOT / 'benchmarks' / 'results'


def train(cfg: Path, work_dir: Path, options: list) -> dict:
    """Run tools/train.py; return per-iteration times and the child's peak RSS (MiB)."""
    cmd = [sys.executable, str(ROOT / 'tools' / 'train.py'), str(cfg), '--work-dir',
           str(work_dir), '--cfg-options', *options]
    with open(work_dir.with_suffix('.log'), 'w') as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    if status:
        sys.exit(f'{cfg.name} failed, see {work_dir}.log')
    scalars = next(work_dir.rglob('vis_data/scalars.json')).read_text().splitlines()
    times = [json.loads(line)['time'] for line in scalars if '"time"' in line
             and '"loss"' in line]
    return dict(times=times, peak_rss_mib=usage.ru_maxrss / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--epochs', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=2)
    parser.add_argument('--rollout-interval', type=int, default=10)
    parser.add_argument('--teacher-ckpt', default=None,
                        help='trained toy teacher (default: random teacher; timing only)')
    args = parser.parse_args()
    common = [f'model.teacher_ckpt={args.teacher_ckpt}', 'default_hooks.logger.interval=1',
              'default_hooks.checkpoint.interval=1000', 'train_cfg.val_interval=1000',
              'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']
    variants = {
        'uniform KD': (UNIFORM, [f'train_cfg.max_epochs={args.epochs}']),
        'RL-PyramidKD phase 3': (RL, [  # warm-up and policy phases of length 0
            'train_cfg.phases.0.epochs=0', 'train_cfg.phases.1.epochs=0',
            f'train_cfg.phases.2.epochs={args.epochs}',
            f'train_cfg.phases.2.rollout_interval={args.rollout_interval}']),
    }
    runs = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for name, (cfg, opts) in variants.items():
                work = Path(tmp) / f'{name.split()[0]}_{repeat}'
                runs[name].append(train(cfg, work, common + opts))
                print(name, repeat, statistics.median(runs[name][-1]['times'][5:]), flush=True)
    summary = {}
    for name, results in runs.items():
        times = [t for r in results for t in r['times'][5:]]
        summary[name] = dict(median_iter_s=statistics.median(times),
                             mean_iter_s=statistics.mean(times),
                             peak_rss_mib=max(r['peak_rss_mib'] for r in results))
    base, rl = summary['uniform KD'], summary['RL-PyramidKD phase 3']
    ratios = dict(time_median=rl['median_iter_s'] / base['median_iter_s'],
                  time_mean=rl['mean_iter_s'] / base['mean_iter_s'],
                  memory=rl['peak_rss_mib'] / base['peak_rss_mib'])
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / 'rl_overhead.json').write_text(json.dumps(
        dict(args=vars(args), summary=summary, ratios=ratios), indent=1))
    lines = ['Toy-scale CPU (2 cores): toy Faster R-CNN distiller, batch 8 of 128x128, '
             f'{args.epochs} epochs x {args.repeats} alternating runs each; '
             f'`benchmarks/rl_overhead.py --epochs {args.epochs} --repeats {args.repeats} '
             f'--rollout-interval {args.rollout_interval}`.', '',
             '| variant | median s/iter | mean s/iter | peak RSS (MiB) |', '|---|---|---|---|']
    for name, s in summary.items():
        lines.append(f"| {name} | {s['median_iter_s']:.3f} | {s['mean_iter_s']:.3f} "
                     f"| {s['peak_rss_mib']:.0f} |")
    lines += ['', f"RL / uniform: time {ratios['time_mean']:.3f}x (mean; median "
              f"{ratios['time_median']:.3f}x), peak memory {ratios['memory']:.3f}x."]
    (RESULTS / 'rl_overhead.md').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
