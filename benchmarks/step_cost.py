"""Training cost of one iteration as the user pays it: FLOPs and wall-clock.

Uniform KD vs RL-PyramidKD's joint phase (phase 3) on the toy Faster R-CNN distiller,
measured in one process on the same batches of the toy COCO data (real mmdet models,
mmengine's optimiser wrapper). One RL iteration = the distiller's train step (teacher
forward, student forward + backward, distillation, policy forward) + its share of the
reward lookahead (``collect_experience``, every ``collect_interval``-th iteration) and of
the PPO update (every ``update_interval`` collections). FLOPs come from
``torch.utils.flop_counter.FlopCounterMode`` (matmul / convolution FLOPs of forward and
backward; the teacher forward is also counted alone: attributing backward FLOPs to
modules is not reliable), of steps after the timed ones (the counter slows what it
counts); wall-clock is the median over the timed iterations, which alternate between
the variants (one step of each in turn) so that all see the same machine load. Variants:

- ``uniform KD``;
- ``RL-PyramidKD`` (the config: the teacher runs before the decision);
- ``RL-PyramidKD, state_gap=none``: the policy decides on the student alone and the
  teacher runs only on samples with a kept level (or a recorded decision);
  ``--keep-prob`` sets its untrained policy's keep probability, so that some samples
  select nothing and the skipped teacher forwards show in the cost.

Writes ``benchmarks/results/step_cost.{json,md}`` (``--out``: another stem; ``--data``, by
default ``data/toy_coco``; ``--batch-size``, by default the config's 8); toy-scale CPU
numbers.

    .venv/bin/python benchmarks/step_cost.py [--iters 6] [--keep-prob 0.75 0.2]
"""
from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from torch.utils.flop_counter import FlopCounterMode

import rlpkd  # noqa: F401  (registers the components)
from rlpkd.learners import PPOLearner
from rlpkd.registry import MODELS

ROOT = Path(__file__).resolve().parents[1]
CFG = ROOT / 'configs' / 'faster_rcnn'
UNIFORM = CFG / 'kd-uniform_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'
RL = CFG / 'rlpkd_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'


def build(cfg_path: Path, data: Path, selector: dict | None = None,
          batch_size: int | None = None):
    """Model, optimiser wrapper and train dataloader of a toy config on ``data``
    (``batch_size``: default the config's)."""
    cfg = Config.fromfile(cfg_path)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    cfg.model.teacher_ckpt = None  # FLOPs and time do not depend on the weights
    if selector:
        cfg.model.selector.update(selector)
    cfg.train_dataloader.dataset.data_root = f'{data}/'
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.pop('persistent_workers', None)
    if batch_size:
        cfg.train_dataloader.batch_size = batch_size
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.train()
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    return cfg, model, build_optim_wrapper(model, cfg.optim_wrapper), loader


def flops_of(fn) -> float:
    """FLOPs of ``fn()`` (FlopCounterMode: matmul / convolution, forward and backward,
    including work outside any module such as the reward's virtual steps)."""
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return float(counter.get_total_flops())


def seconds_of(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


class Variant:
    """One configuration under test: its model, optimiser, batches and measurements."""

    def __init__(self, name: str, cfg_path: Path, data: str, selector: dict | None = None,
                 batch_size: int | None = None):
        self.name, self.rl = name, cfg_path == RL
        self.cfg, self.model, self.optim, loader = build(cfg_path, data, selector, batch_size)
        if self.rl:
            self.model.selector.set_mode('sample')
        if not len(loader):
            raise SystemExit(f'--data {data}: no training batch')
        # epoch after epoch (the same order): small --data must not run out of batches
        self.batches = itertools.chain.from_iterable(itertools.repeat(loader))
        self.rates, self.times = [], []

    def step(self) -> None:
        losses = self.model.train_step(next(self.batches), self.optim)
        self.rates.append(float(losses.get('teacher_rate', 1.0)))

    def result(self, args) -> dict:
        """FLOPs of counted steps (the counter slows what it counts, so after the timed
        ones), the teacher forward's share, and the RL learning cost."""
        counted = [flops_of(self.step) for _ in range(args.flop_iters)]
        inputs = self.model.data_preprocessor(next(self.batches), True)['inputs']
        with torch.no_grad():
            teacher = flops_of(lambda: self.model.pair.teacher_features(inputs))
        rate = statistics.mean(self.rates[args.warmup:])
        result = dict(step_s=statistics.median(self.times[args.warmup:]),
                      step_flops=statistics.mean(counted), teacher_flops=teacher * rate,
                      teacher_rate=rate)
        if self.rl:
            result.update(learning_cost(self.cfg, self.model, self.optim, self.batches))
        result['iter_s'] = result['step_s'] + result.get('learn_s_per_iter', 0.0)
        result['iter_flops'] = result['step_flops'] + result.get('learn_flops_per_iter', 0.0)
        print(self.name, json.dumps(result), flush=True)
        return result


def learning_cost(cfg, model, optim, batches) -> dict:
    """Reward lookahead and PPO update of the joint phase, amortised per iteration as
    it schedules them (one collection per ``collect_interval`` iterations, one update
    per ``update_interval`` collections): once timed, once counted."""
    phase = cfg.train_cfg.phases[2]
    learner = PPOLearner(model.selector, **{k: v for k, v in cfg.train_cfg.learners.ppo
                                            .items() if k != 'type'})

    def collect():
        model.selector.request_experience(phase.get('collect_samples'))
        model.train_step(next(batches), optim)
        return lambda: learner.add(model.selector.collect_experience())
    collect_s = [seconds_of(collect()) for _ in range(phase.update_interval)]
    update_s = seconds_of(learner.update)
    collect_flops = [flops_of(collect()) for _ in range(phase.update_interval)]
    update_flops = flops_of(learner.update)
    per_collect = 1 / phase.collect_interval
    per_update = per_collect / phase.update_interval
    return dict(collect_s=statistics.median(collect_s), update_s=update_s,
                collect_flops=statistics.mean(collect_flops), update_flops=update_flops,
                learn_s_per_iter=statistics.median(collect_s) * per_collect
                + update_s * per_update,
                learn_flops_per_iter=statistics.mean(collect_flops) * per_collect
                + update_flops * per_update,
                collect_interval=phase.collect_interval,
                update_interval=phase.update_interval)


def markdown(results: dict, args, batch: int = 8) -> str:
    base = results['uniform KD']
    lines = [f'Toy scale, CPU: toy Faster R-CNN distiller, batch {batch} of 128x128 toy COCO '
             'images, '
             f'median of {args.iters} timed iterations after {args.warmup}, FLOPs of '
             f'{args.flop_iters} more; '
             f'`benchmarks/step_cost.py --iters {args.iters} --keep-prob '
             f'{" ".join(map(str, args.keep_prob))}'
             f'{f" --batch-size {args.batch_size}" if args.batch_size else ""}`. '
             'GFLOPs per iteration '
             '(FlopCounterMode: matmul/conv, forward + backward): "train step" = teacher '
             'forward, student forward + backward, distillation, policy; "teacher" = the '
             'teacher forward within it (a full batch\'s, times the teacher rate: the '
             'fraction of samples it ran on); "learning" = the reward lookahead and PPO '
             'update amortised per iteration. Wall-clock: timed steps alternate between the '
             'variants; the machine was shared by other jobs.', '',
             '| variant | train step | teacher | learning | total | / uniform | s/iter '
             '| / uniform | teacher rate |', '|---' * 9 + '|']
    for name, r in results.items():
        cells = [name, f"{r['step_flops'] / 1e9:.2f}", f"{r['teacher_flops'] / 1e9:.2f}",
                 f"{r.get('learn_flops_per_iter', 0.0) / 1e9:.2f}",
                 f"{r['iter_flops'] / 1e9:.2f}", f"{r['iter_flops'] / base['iter_flops']:.3f}",
                 f"{r['iter_s']:.3f}", f"{r['iter_s'] / base['iter_s']:.3f}",
                 f"{r['teacher_rate']:.2f}"]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iters', type=int, default=6)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--flop-iters', type=int, default=2,
                        help='train steps counted by FlopCounterMode (after the timed ones)')
    parser.add_argument('--keep-prob', type=float, nargs='+', default=[0.75, 0.2],
                        help='untrained keep probabilities of the state_gap=none variants')
    parser.add_argument('--data', default=str(ROOT / 'data' / 'toy_coco'))
    parser.add_argument('--out', default=str(ROOT / 'benchmarks' / 'results' / 'step_cost'))
    parser.add_argument('--batch-size', type=int, help="images per batch (default: the "
                        "config's, 8)")
    args = parser.parse_args()
    if not Path(args.data, 'annotations').is_dir():
        raise SystemExit(f'--data {args.data}: no toy COCO data; run '
                         '`python tools/make_toy_data.py det` first')
    variants = [Variant('uniform KD', UNIFORM, args.data, batch_size=args.batch_size),
                Variant('RL-PyramidKD', RL, args.data, batch_size=args.batch_size)]
    variants += [Variant(f'RL-PyramidKD, state_gap=none, keep prob {prob}', RL, args.data,
                         dict(state_gap='none', policy=dict(init_keep_prob=prob)),
                         args.batch_size)
                 for prob in args.keep_prob]
    for _ in range(args.warmup + args.iters):  # interleaved: every variant sees the same load
        for variant in variants:
            variant.times.append(seconds_of(variant.step))
    results = {v.name: v.result(args) for v in variants}
    recorded = {k: v for k, v in vars(args).items()  # as before --batch-size, by default
                if v is not None or k != 'batch_size'}
    Path(args.out + '.json').write_text(json.dumps(dict(args=recorded, results=results),
                                                   indent=1))
    text = markdown(results, args, variants[0].cfg.train_dataloader.batch_size)
    Path(args.out + '.md').write_text(text)
    print(text)


if __name__ == '__main__':
    main()
