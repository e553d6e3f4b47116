"""Per-iteration cost of GradNorm on the toy Faster R-CNN distiller (toy scale, CPU).

Builds the distiller of ``configs/faster_rcnn/kd-uniform_..._toy-coco.py`` and of
``kd-gradnorm_..._toy-coco.py`` (W = the student's layer1, the default), plus GradNorm
with W = the student's layer4 (also shared by every FPN level, through the top-down
path, but closer to the losses, so its per-level backward is shorter). All start from
the same weights (random teacher: the cost does not depend on the values). One
iteration = forward (``mode='loss'``) + backward + gradient clipping (max_norm 10, as
the toy schedule) + SGD step, on a batch of 4 random 128x128 images with 1-2 boxes
each. The variants run interleaved (order rotated every iteration), so a change in
machine load hits them alike; reported are the median over the timed iterations after
the warm-up, the quartiles, and the median of the per-iteration paired ratios. The
GradNorm step itself (per-level gradient norms + update) is timed separately.
Writes ``benchmarks/results/gradnorm_overhead.{json,md}`` (``--out``: another stem).

    .venv/bin/python benchmarks/gradnorm_overhead.py [--iterations 20 --warmup 3]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch
from mmengine.config import Config

import rlpkd  # noqa: F401  (registers components)
from rlpkd.registry import MODELS
from rlpkd.testing import det_batch

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / 'benchmarks' / 'results'
CONFIGS = ROOT / 'configs' / 'faster_rcnn'
UNIFORM = 'kd-uniform_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'
GRADNORM = 'kd-gradnorm_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'


def build(config: str, balancer_override: dict | None = None):
    cfg = Config.fromfile(str(CONFIGS / config)).model.to_dict()
    cfg.update(teacher_ckpt=None)
    if balancer_override:
        cfg['balancer'] = dict(cfg['balancer'], **balancer_override)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.train()
    return model


class Timed:
    """Wraps the balancer's forward to time the GradNorm step alone."""

    def __init__(self, balancer):
        self.forward, self.seconds = balancer.forward, 0.0
        balancer.forward = self

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        out = self.forward(*args, **kwargs)
        self.seconds += time.perf_counter() - start
        return out


def iteration(model, optim, batch) -> float:
    start = time.perf_counter()
    optim.zero_grad()
    total, _ = model.parse_losses(model(**batch, mode='loss'))
    total.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=10)
    optim.step()
    return time.perf_counter() - start


def quartiles(values):
    q = statistics.quantiles(values, n=4)
    return dict(median=statistics.median(values), q1=q[0], q3=q[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--iterations', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--size', type=int, default=128)
    parser.add_argument('--out', default=str(RESULTS / 'gradnorm_overhead'),
                        help='output stem (.json / .md appended)')
    args = parser.parse_args()

    variants = {
        'uniform': build(UNIFORM),
        'gradnorm_layer1': build(GRADNORM),
        'gradnorm_layer4': build(GRADNORM, dict(shared_param='student.backbone.layer4')),
    }
    names = list(variants)
    optims = {n: torch.optim.SGD(m.parameters(), lr=0.02, momentum=0.9, weight_decay=1e-4)
              for n, m in variants.items()}
    step_timers = {n: Timed(m.balancer) for n, m in variants.items() if m.balancer}
    times = {n: [] for n in names}
    step_times = {n: [] for n in step_timers}
    load_before = os.getloadavg()
    start = time.time()
    for it in range(args.warmup + args.iterations):
        order = names[it % len(names):] + names[:it % len(names)]
        for name in order:
            model = variants[name]
            batch = det_batch(model, num_images=args.batch, size=(args.size, args.size),
                              seed=it)
            before = step_timers[name].seconds if name in step_timers else 0.0
            seconds = iteration(model, optims[name], batch)
            if it >= args.warmup:
                times[name].append(seconds)
                if name in step_timers:
                    step_times[name].append(step_timers[name].seconds - before)
    wall = time.time() - start

    base = times['uniform']
    results = dict(
        label='toy scale, CPU',
        command='.venv/bin/python benchmarks/gradnorm_overhead.py '
                f'--iterations {args.iterations} --warmup {args.warmup} '
                f'--batch {args.batch} --size {args.size}',
        setup=dict(batch=args.batch, image_size=[args.size, args.size],
                   iterations=args.iterations, warmup=args.warmup,
                   torch=torch.__version__, threads=torch.get_num_threads(),
                   cpu=platform.processor() or platform.machine(), cores=os.cpu_count(),
                   loadavg_before=[round(v, 2) for v in load_before],
                   loadavg_after=[round(v, 2) for v in os.getloadavg()],
                   wall_seconds=round(wall, 1)),
        variants={})
    for name in names:
        model = variants[name]
        entry = dict(seconds=quartiles(times[name]),
                     shared_param=model.balancer.param_name if model.balancer else None)
        if name != 'uniform':
            ratios = [t / b for t, b in zip(times[name], base)]
            entry['paired_ratio_median'] = statistics.median(ratios)
            entry['gradnorm_step_seconds'] = quartiles(step_times[name])
            entry['final_weights'] = dict(zip(model.level_names,
                                              model.balancer.weights.tolist()))
        results['variants'][name] = entry
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out + '.json').write_text(json.dumps(results, indent=2) + '\n')
    Path(args.out + '.md').write_text(markdown(results))
    print(markdown(results))


def markdown(results: dict) -> str:
    s = results['setup']
    lines = [
        '# GradNorm overhead (toy scale, CPU)', '',
        f"Toy Faster R-CNN distiller (R18-w32 FPN 128 teacher -> R18-w16 FPN 64 student, "
        f"PKD on P2-P5), batch {s['batch']} of {s['image_size'][0]}x{s['image_size'][1]} "
        f"images; one iteration = forward + backward + clip + SGD step. Median of "
        f"{s['iterations']} iterations after {s['warmup']} warm-up, variants interleaved. "
        f"torch {s['torch']}, {s['threads']} threads on {s['cores']} shared cores "
        f"(load average {s['loadavg_before'][0]} before, {s['loadavg_after'][0]} after; "
        f"other jobs may share the cores), {s['wall_seconds']} s in all.", '',
        f"`{results['command']}`", '',
        '| variant | W (shared_param) | s / iteration (median) | q1-q3 | vs uniform '
        '(ratio of medians) | paired ratio (median) | GradNorm step s (median) |',
        '|---|---|---|---|---|---|---|',
    ]
    base = results['variants']['uniform']['seconds']['median']
    for name, v in results['variants'].items():
        sec = v['seconds']
        step = v.get('gradnorm_step_seconds', {}).get('median')
        lines.append(
            f"| {name} | {v['shared_param'] or '-'} | {sec['median']:.3f} | "
            f"{sec['q1']:.3f}-{sec['q3']:.3f} | {sec['median'] / base:.2f}x | "
            f"{v.get('paired_ratio_median', 1.0):.2f}x | "
            f"{'-' if step is None else f'{step:.3f}'} |")
    weights = {n: v['final_weights'] for n, v in results['variants'].items()
               if 'final_weights' in v}
    lines += ['', 'GradNorm weights after the run (sum = 4): ' + '; '.join(
        f"{n}: " + ', '.join(f'{k} {w:.3f}' for k, w in ws.items())
        for n, ws in weights.items()), '']
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
