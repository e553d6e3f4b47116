"""RL-PyramidKD vs uniform KD on the README's toy detection setting, over seeds.

The demo's setting (toy COCO, 240 train / 60 val images, 12 epochs; RL phases 4/4/4)
and teacher; each method trained and tested with every seed through the real
``tools/train.py`` / ``tools/test.py``. Reports mAP (and AP_s / AP_l) mean ± std over
seeds and, for learned selectors, the distillation-cost fraction of the deterministic
policy on val, the number of distinct level subsets it uses, its P2..P5 keep rates
and the mutual information between decisions and the image's size group. Finished runs
are reused (``--work-dir``). Writes ``benchmarks/results/toy_detection_seeds.{md,json}``.
Toy-scale CPU numbers.

    .venv/bin/python benchmarks/toy_detection_seeds.py [--seeds 0 1 2]
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from rlpkd.benchmarking import SCHEDULE_CONTROL
from rlpkd.benchmarking.runner import train_cost
from rlpkd.benchmarking.studies import (
    LEVELS,
    RL,
    UNIFORM,
    column,
    data_options,
    mean_std,
    tool,
    train_and_test,
    train_teacher,
)

ROOT = Path(__file__).resolve().parents[1]

METHODS = {
    'uniform KD': (UNIFORM, []),
    'fixed: drop P2 (the subset the RL policy picks)': (UNIFORM, [
        'model.selector.type=rlpkd.FixedSelector', 'model.selector.levels=[P3,P4,P5]']),
    # control: RL's phase schedule (backbone frozen in phase 2) with every level kept
    'uniform KD on the RL schedule': (RL, list(SCHEDULE_CONTROL)),
    # control: the same schedule, all levels in the warm-up, then P3-P5 (the subset the
    # policy ends on), backbone trainable: what RL adds over its schedule
    'curriculum: all levels (warm-up), then P3-P5; RL schedule, phase 2 unfrozen': (RL, [
        'model.selector._delete_=True', 'model.selector.type=rlpkd.CurriculumSelector',
        'model.selector.levels=[P3,P4,P5]', 'train_cfg.phases.1.freeze=()',
        'train_cfg.learners._delete_=True',
        *(f'train_cfg.phases.{i}.learner=None' for i in (1, 2))]),
    'RL-PyramidKD (config: λ = 0.5, gap reward)': (RL, []),
    'RL-PyramidKD (config), backbone not frozen in phase 2': (RL, [
        'train_cfg.phases.1.freeze=()']),
    'RL-PyramidKD, cost target 0.6 (λ = 0)': (RL, [
        'model.selector.lambda_tradeoff=0.0', 'train_cfg.learners.ppo.cost_target=0.6']),
    'RL-PyramidKD, cost target 0.6, exploration bound 0.1 (λ = 0)': (RL, [
        'model.selector.lambda_tradeoff=0.0', 'train_cfg.learners.ppo.cost_target=0.6',
        'model.selector.policy.explore=0.1']),
    'RL-PyramidKD, cost target 0.6, task reward, self-critical': (RL, [
        'model.selector.lambda_tradeoff=0.0', 'train_cfg.learners.ppo.cost_target=0.6',
        'model.selector.reward_signal=task', 'model.selector.self_critical=True',
        'train_cfg.phases.1.collect_samples=4', 'train_cfg.phases.2.collect_samples=4']),
}


def teacher_checkpoint(args, work: Path, data: Path) -> Path:
    """``--teacher``, else the newest toy teacher the demo cached, else train one."""
    if args.teacher:
        return Path(args.teacher).resolve()
    cached = sorted(Path(args.cache).glob('toy-teacher-[0-9a-f]*.pth'),
                    key=lambda p: p.stat().st_mtime)
    if cached:
        (work / 'teacher').mkdir(parents=True, exist_ok=True)
        shutil.copy(cached[-1], work / 'teacher' / 'epoch_12.pth')
    return train_teacher(work, data)


def run_one(method: str, seed: int, args, data: Path, teacher: Path) -> dict:
    cfg, extra = METHODS[method]
    slug = ''.join(c if c.isalnum() else '_' for c in method)
    work = Path(args.work_dir) / f'{slug}_s{seed}'
    rl = cfg == RL
    opts = data_options(data, rl) + [f'model.teacher_ckpt={teacher}', *extra]
    test_opts = [f'test_evaluator.1.group_file={data}/annotations/instances_val.json'] \
        if rl else []
    result = train_and_test(work, method, seed, cfg, opts, args.epochs, test_opts,
                            imports=('rlpkd', 'rlpkd.benchmarking.parts'))
    return dict(result, train_cost=train_cost(work)) if rl else result


def fixed_cost(method: str) -> str:
    """The cost cell of a method without a learned selector: all levels, or its subset."""
    for option in METHODS[method][1]:
        if option.startswith('model.selector.levels='):
            return f"its subset ({option.split('=', 1)[1]})"
    return '1 (all)'


def markdown(results: list, args) -> str:
    lines = [f'Toy detection (toy-scale CPU): the demo\'s data and teacher, {args.epochs} '
             f'epochs, seeds {args.seeds}; `benchmarks/toy_detection_seeds.py --seeds '
             f'{" ".join(map(str, args.seeds))}`. mean ± std over seeds. "cost": '
             'distillation-FLOPs fraction the deterministic policy spends on val; '
             '"subsets": distinct level subsets it uses; MI: bits between decisions and '
             'the image\'s size group; "train cost": the distillation-FLOPs fraction '
             'spent in training (uniform phases count 1; a fixed subset spends its own '
             'cost, e.g. 0.247 for P3-P5, the policy\'s test cost of the same subset).', '',
             '| method | mAP | AP_s | AP_l | cost | train cost | ' + ' / '.join(LEVELS)
             + ' kept | subsets | MI (bits) | train (s) |', '|---' * 10 + '|']
    for method in METHODS:
        runs = [r for r in results if r['method'] == method]
        if not runs:
            continue
        learned = ('selection/cost_fraction' in runs[0]['metrics']
                   and fixed_cost(method) == '1 (all)')  # a fixed subset learns nothing
        kept = ' / '.join(column(runs, f'selection/rate_{lv}') for lv in LEVELS)
        lines.append(' | '.join([
            f'| {method}', column(runs, 'coco/bbox_mAP'), column(runs, 'coco/bbox_mAP_s'),
            column(runs, 'coco/bbox_mAP_l'),
            column(runs, 'selection/cost_fraction') if learned else fixed_cost(method),
            mean_std([r['train_cost'] for r in runs]) if learned else '–',
            kept if learned else '–',
            column(runs, 'selection/distinct_subsets') if learned else '–',
            column(runs, 'selection/group_mi') if learned else '–',
            mean_std([r['train_s'] for r in runs])]) + ' |')
    return '\n'.join(lines) + '\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--epochs', type=int, default=12)
    parser.add_argument('--methods', nargs='+', choices=sorted(METHODS),
                        default=list(METHODS))
    parser.add_argument('--teacher', help='toy teacher checkpoint (default: the demo\'s)')
    parser.add_argument('--cache', default=str(Path.home() / '.cache' / 'rlpkd' / 'demo'))
    parser.add_argument('--work-dir', default='work_dirs/toy_detection_seeds')
    parser.add_argument('--out', default=str(ROOT / 'benchmarks' / 'results'
                                             / 'toy_detection_seeds'))
    args = parser.parse_args()
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    data = (work / 'data').resolve()
    tool('make_toy_data.py', 'det', '--out', data, log=work / 'data.log')
    teacher = teacher_checkpoint(args, work, data)
    results = []
    for seed in args.seeds:
        for method in args.methods:
            results.append(run_one(method, seed, args, data, teacher))
            print(f"{method} seed {seed}: mAP {results[-1]['metrics']['coco/bbox_mAP']}",
                  flush=True)
    Path(args.out + '.json').write_text(json.dumps(results, indent=1))
    Path(args.out + '.md').write_text(markdown(results, args))
    print(markdown(results, args))


if __name__ == '__main__':
    main()
