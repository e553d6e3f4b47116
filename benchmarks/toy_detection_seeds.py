"""RL-PyramidKD vs uniform KD on the demo's toy detection setting, over seeds.

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
from pathlib import Path

from rlpkd.benchmarking import SCHEDULE_CONTROL, run_plan, run_tool
from rlpkd.benchmarking.studies import (
    DET,
    LEVELS,
    RUN_OPTIONS,
    column,
    mean_std,
    study_methods,
)
from rlpkd.benchmarking.teacher import DEFAULT_CACHE

ROOT = Path(__file__).resolve().parents[1]

METHODS = {
    'uniform KD': (DET.uniform, []),
    'fixed: drop P2 (the subset the RL policy picks)': (DET.uniform, [
        'model.selector.type=rlpkd.FixedSelector', 'model.selector.levels=[P3,P4,P5]']),
    # control: RL's phase schedule (backbone frozen in phase 2) with every level kept
    'uniform KD on the RL schedule': (DET.rl, list(SCHEDULE_CONTROL)),
    # control: the same schedule, all levels in the warm-up, then P3-P5 (the subset the
    # policy ends on), backbone trainable: what RL adds over its schedule
    'curriculum: all levels (warm-up), then P3-P5; RL schedule, phase 2 unfrozen': (DET.rl, [
        'model.selector._delete_=True', 'model.selector.type=rlpkd.CurriculumSelector',
        'model.selector.levels=[P3,P4,P5]', 'train_cfg.phases.1.freeze=()',
        'train_cfg.learners._delete_=True',
        *(f'train_cfg.phases.{i}.learner=None' for i in (1, 2))]),
    'RL-PyramidKD (config: λ = 0.5, gap reward)': (DET.rl, []),
    'RL-PyramidKD (config), backbone not frozen in phase 2': (DET.rl, [
        'train_cfg.phases.1.freeze=()']),
    'RL-PyramidKD, cost target 0.6 (λ = 0)': (DET.rl, [
        'model.selector.lambda_tradeoff=0.0', 'train_cfg.learners.ppo.cost_target=0.6']),
    'RL-PyramidKD, cost target 0.6, exploration bound 0.1 (λ = 0)': (DET.rl, [
        'model.selector.lambda_tradeoff=0.0', 'train_cfg.learners.ppo.cost_target=0.6',
        'model.selector.policy.explore=0.1']),
    'RL-PyramidKD, cost target 0.6, task reward, self-critical': (DET.rl, [
        'model.selector.lambda_tradeoff=0.0', 'train_cfg.learners.ppo.cost_target=0.6',
        'model.selector.reward_signal=task', 'model.selector.self_critical=True',
        'train_cfg.phases.1.collect_samples=4', 'train_cfg.phases.2.collect_samples=4']),
}




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
    parser.add_argument('--teacher', type=Path,
                        help='toy teacher checkpoint (default: the demo\'s, from --cache)')
    parser.add_argument('--cache', type=Path, default=DEFAULT_CACHE,
                        help='toy teachers cached by tools/demo.py and the benchmarks')
    parser.add_argument('--work-dir', default='work_dirs/toy_detection_seeds')
    parser.add_argument('--out', default=str(ROOT / 'benchmarks' / 'results'
                                             / 'toy_detection_seeds'))
    args = parser.parse_args()
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    data = (work / 'data').resolve()
    run_tool('make_toy_data.py', ['det', '--out', data], work / 'data.log')
    plan = study_methods(METHODS, args.epochs, args.methods)
    results = [r for r in run_plan(DET, plan, args.seeds, work, data, args.teacher,
                                   RUN_OPTIONS, cache=args.cache) if r['status'] == 'ok']
    Path(args.out + '.json').write_text(json.dumps(results, indent=1))
    Path(args.out + '.md').write_text(markdown(results, args))
    print(markdown(results, args))


if __name__ == '__main__':
    main()
