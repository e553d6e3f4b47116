"""Known-answer benchmark: can a selector learn *per-sample* level choices?

On the toy COCO data the teacher's P5 is replaced by noise on images with only large
objects and its P2 on images with only small objects (``rlpkd/benchmarking/parts/known_answer.py``);
with λ = 0 the right selection of every image is known (drop exactly its group's
corrupted level), and no fixed subset can make it (it drops both or neither). Trains,
with the same schedule and seeds, uniform KD, the four fixed subsets that matter, a
group oracle (told the group) and RL-PyramidKD variants, through the real
``tools/train.py`` / ``tools/test.py``; reports mAP (mean ± std over seeds) and, for
learned selectors, per-group selection rates and the fraction of val images whose
decision matches the known answer. Writes ``benchmarks/results/known_answer.{md,json}``.
Finished runs are reused (``--work-dir``); toy-scale CPU numbers.

    .venv/bin/python benchmarks/known_answer.py [--seeds 0 1 2] [--epochs 9]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from rlpkd.benchmarking import SCHEDULE_CONTROL, PlanProgress, run_plan, run_tool
from rlpkd.benchmarking.parts import CORRUPTED, CORRUPTIONS, KNOWN_ANSWER
from rlpkd.benchmarking.studies import (
    DET,
    DET_LEVEL_CREDIT,
    RUN_OPTIONS,
    column,
    decisions,
    mean_std,
    study_methods,
)
from rlpkd.benchmarking.suite import prepare_teacher

ROOT = Path(__file__).resolve().parents[1]


def rl_signal(signal: str) -> list:
    """Options of an RL run with a task-signal reward and the self-critical baseline."""
    return [f'model.selector.reward_signal={signal}', 'model.selector.self_critical=True',
            'train_cfg.phases.1.collect_samples=4', 'train_cfg.phases.2.collect_samples=4']


METHODS = {
    'uniform KD': (DET.uniform, []),
    'fixed: drop P2': (DET.uniform, ['model.selector.type=rlpkd.FixedSelector',
                                 'model.selector.levels=[P3,P4,P5]']),
    'fixed: drop P5': (DET.uniform, ['model.selector.type=rlpkd.FixedSelector',
                                 'model.selector.levels=[P2,P3,P4]']),
    'fixed: drop P2 and P5': (DET.uniform, ['model.selector.type=rlpkd.FixedSelector',
                                        'model.selector.levels=[P3,P4]']),
    'group oracle': (DET.uniform, ['model.selector.type=rlpkd.GroupOracleSelector']),
    # control: RL's phase schedule (backbone frozen in phase 2) with every level kept
    'uniform KD on the RL schedule': (DET.rl, list(SCHEDULE_CONTROL)),
    'RL-PyramidKD, gap reward': (DET.rl, ['model.selector.lambda_tradeoff=0.0']),
    'RL-PyramidKD, task reward, self-critical': (DET.rl, ['model.selector.lambda_tradeoff=0.0',
                                                      *rl_signal('task')]),
    'RL-PyramidKD, batch-alignment reward, self-critical': (
        DET.rl, ['model.selector.lambda_tradeoff=0.0', *rl_signal('batch_alignment')]),
    # the per-level signal state + per-level credit (4 recorded samples per step, each
    # also scored with every level flipped)
    'RL-PyramidKD, level credit, gap reward': (
        DET_LEVEL_CREDIT, ['model.selector.lambda_tradeoff=0.0']),
    'RL-PyramidKD, level credit, task reward': (
        DET_LEVEL_CREDIT, ['model.selector.lambda_tradeoff=0.0',
                           'model.selector.reward_signal=task']),
}


def options(args, data: Path) -> list:
    """``--cfg-options`` of every run: the known-answer distiller on ``data``."""
    anns = f'[{data}/annotations/instances_train.json,{data}/annotations/instances_val.json]'
    return [*RUN_OPTIONS, 'model.type=rlpkd.KnownAnswerDistiller', f'model.ann_files={anns}',
            f'model.corruption={args.corruption}']


WRONG = {'noise': 'noise', 'flip': 'its own map mirrored left-right',
         'erase': 'its per-channel spatial mean (no object)'}


def match_fraction(records: list) -> float:
    """Fraction of val images whose kept levels are their group's known answer."""
    hits = [tuple(int(v != 0) for v in r['levels']) == KNOWN_ANSWER[r['group']]
            for r in records]
    return sum(hits) / len(hits)


def markdown(results: list, args) -> str:
    wrong = WRONG[args.corruption]
    lines = [f'Known-answer benchmark (toy-scale CPU): teacher {CORRUPTED["large"]} = {wrong} '
             f'on "large" images, {CORRUPTED["small"]} = {wrong} on "small" images, λ = 0; '
             f'{args.num_train} train / '
             f'{args.num_val} val images, {args.epochs} epochs, seeds {args.seeds}. '
             f'`benchmarks/known_answer.py --corruption {args.corruption} --seeds '
             f'{" ".join(map(str, args.seeds))} --epochs {args.epochs} --num-train '
             f'{args.num_train} --num-val {args.num_val}`. mean ± std over seeds.', '',
             '| method | mAP | AP_s | AP_l | distill cost | P2 kept (large / small / mixed) '
             '| P5 kept (large / small / mixed) | subsets | matches known answer | train (s) |',
             '|---' * 10 + '|']
    for method in METHODS:
        runs = [r for r in results if r['method'] == method]
        if not runs:
            continue

        def col(key, runs=runs):
            return column(runs, key)

        def rates(level, runs=runs):
            return ' / '.join(col(f'selection/rate_{level}/{g}')
                              for g in ('large', 'small', 'mixed'))
        learned = 'selection/cost_fraction' in runs[0]['metrics']
        lines.append(' | '.join([
            f'| {method}', col('coco/bbox_mAP'), col('coco/bbox_mAP_s'),
            col('coco/bbox_mAP_l'), col('selection/cost_fraction') if learned else '–',
            rates('P2') if learned else '–', rates('P5') if learned else '–',
            col('selection/distinct_subsets') if learned else '–',
            mean_std([r['match'] for r in runs]) if learned else '–',
            mean_std([r['train_s'] for r in runs])]) + ' |')
    return '\n'.join(lines) + '\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--epochs', type=int, default=9)
    parser.add_argument('--num-train', type=int, default=120)
    parser.add_argument('--num-val', type=int, default=60)
    parser.add_argument('--methods', nargs='+', choices=sorted(METHODS),
                        default=list(METHODS))
    parser.add_argument('--corruption', choices=CORRUPTIONS, default='noise',
                        help='how the wrong teacher level is made '
                        '(rlpkd/benchmarking/parts/known_answer.py)')
    parser.add_argument('--work-dir', default='work_dirs/known_answer_v3',
                        help='data, teacher, and the runs of each corruption under '
                        '<work-dir>/<corruption>/')
    parser.add_argument('--out', help='output stem (default: benchmarks/results/'
                        'known_answer, + _<corruption> for another corruption than noise)')
    args = parser.parse_args()
    if args.out is None:
        tag = '' if args.corruption == 'noise' else f'_{args.corruption}'
        args.out = str(ROOT / 'benchmarks' / 'results' / f'known_answer{tag}')
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    data = (work / 'data').resolve()
    run_tool('make_toy_data.py', ['det', '--out', data, '--num-train', args.num_train,
                                  '--num-val', args.num_val], work / 'data.log')
    with PlanProgress(1) as progress:  # one teacher for every corruption
        teacher = prepare_teacher(DET, work, data, None, progress)
    root = work / args.corruption
    anns = f'[{data}/annotations/instances_train.json,{data}/annotations/instances_val.json]'
    table = {k: (cfg, [*opts, f'model.selector.ann_files={anns}'] if 'Oracle' in ' '.join(opts)
                 else opts) for k, (cfg, opts) in METHODS.items()}
    plan = study_methods(table, args.epochs, args.methods)
    results = [r for r in run_plan(DET, plan, args.seeds, root, data, teacher,
                                   options(args, data)) if r['status'] == 'ok']
    learned = {m.key: m for m in plan if m.learned}
    for record in results:
        if record['key'] in learned:
            record['match'] = match_fraction(decisions(root, learned[record['key']],
                                                       record['seed']))
    Path(args.out + '.json').write_text(json.dumps(results, indent=1))
    Path(args.out + '.md').write_text(markdown(results, args))
    print(markdown(results, args))


if __name__ == '__main__':
    main()
