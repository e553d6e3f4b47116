"""Which RL-PyramidKD variant can find what the NAS baselines found on a toy task whose
pyramid is the backbone (classification, segmentation)?

`tools/benchmark.py cls` showed that a fixed level choice matters there (res4 alone
beats uniform KD at ~0.23 of its distillation cost; res5 alone is harmful), while
RL-PyramidKD keeps every level and loses to uniform KD through its phase schedule (phase
2 freezes the student backbone, which is the distilled pyramid). This script runs, with
the same data, teacher and seeds (reusing the task benchmark's finished runs in
``work_dirs/benchmark_<task>``), the variants that separate these effects:

- fixed subsets res4 / res3+res4 (uniform KD's schedule, ``FixedSelector``);
- RL-PyramidKD (full) with phase 2 not freezing the backbone;
- the same with the task-loss reward and the self-critical baseline (λ 0.5);
- the same with the task-loss reward, self-critical, and a cost target of 0.5 (λ 0).

Writes ``benchmarks/results/<task>_selection_variants.{md,json}`` (``--out``: another stem;
``--data``, ``--teacher``, ``--cfg-options`` as in ``tools/benchmark.py``, whose teacher
check covers the shared runs). Toy-scale CPU numbers.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/selection_variants.py --task cls
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/selection_variants.py --task seg \
        --only uniform rl rl_schedule_uniform rl_unfrozen
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rlpkd.benchmarking import TASKS, Method, methods, run_plan
from rlpkd.benchmarking.tables import Column, adaptive, adaptive_text

ROOT = Path(__file__).resolve().parents[1]
UNFROZEN = ('train_cfg.phases.1.freeze=()', )
TASK_SC = ('model.selector.reward_signal=task', 'model.selector.self_critical=True')


def variants(task) -> list[Method]:
    base = {m.key: m for m in methods(task)}
    rl = base['rl']
    fixed = 'model.selector.type=rlpkd.FixedSelector'
    return [
        base['uniform'], rl, base['rl_schedule_uniform'],
        Method('fixed_res4', 'fixed subset res4', 'fixed', task.uniform,
               (fixed, 'model.selector.levels=[res4]')),
        Method('fixed_res3_res4', 'fixed subset res3 + res4', 'fixed', task.uniform,
               (fixed, 'model.selector.levels=[res3,res4]')),
        Method('rl_unfrozen', 'RL-PyramidKD (full), phase 2 unfrozen', 'ablation', task.rl,
               (*rl.options, *UNFROZEN)),
        Method('rl_unfrozen_task_sc', '+ task reward, self-critical', 'ablation', task.rl,
               (*rl.options, *UNFROZEN, *TASK_SC)),
        Method('rl_unfrozen_task_sc_target', '+ task reward, self-critical, cost target 0.5 '
               '(λ = 0)', 'ablation', task.rl,
               (*rl.options, *UNFROZEN, *TASK_SC, 'model.selector.lambda_tradeoff=0.0',
                'train_cfg.learners.ppo.cost_target=0.5')),
    ]


def columns(task) -> tuple:
    """The task's main metric, the costs, the greedy per-level rates, adaptivity."""
    key, label = task.metrics[0]
    return (Column(label, lambda r: r['metrics'].get(key), 2),
            Column('distill cost (test)', lambda r: r['cost']),
            Column('distill cost (training)', lambda r: r.get('train_cost', r['cost'])),
            *(Column(f'{lv} kept', lambda r, lv=lv: r['metrics'].get(f'selection/rate_{lv}'),
                     2) for lv in task.levels),
            Column('sample-adaptive', adaptive, text=adaptive_text))


def markdown(task, plan: list[Method], records: list[dict], command: str) -> str:
    cols = columns(task)
    lines = [f'{task.title} (toy-scale CPU, 2 cores): RL-PyramidKD variants vs fixed '
             f'subsets, `{command}` (runs shared with `tools/benchmark.py {task.key}`). '
             'mean ± std over seeds; "kept": the greedy policy\'s rate on the test set; '
             'training cost: the distillation FLOPs spent in training (sampled decisions, '
             'uniform phases included). The fixed subsets\' cost (the level costs of the '
             'cls NAS searches): res4 0.231, res3 + res4 0.484.', '',
             '| method | ' + ' | '.join(c.label for c in cols) + ' |',
             '|---' * (len(cols) + 1) + '|']
    for method in plan:
        runs = [r for r in records if r['key'] == method.key]
        lines.append(f'| {method.label} | ' + ' | '.join(c.cell(runs) for c in cols) + ' |')
    return '\n'.join(lines) + '\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--task', choices=('cls', 'seg'), default='cls')
    parser.add_argument('--seeds', type=int, default=3)
    parser.add_argument('--only', nargs='+', help='method keys (default: all variants)')
    parser.add_argument('--work-dir', type=Path, help='default: work_dirs/benchmark_<task>')
    parser.add_argument('--data', type=Path, help='toy data root (default: generated)')
    parser.add_argument('--teacher', type=Path, help='teacher checkpoint (default: trained)')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='extra config options for every run (not the teacher)')
    parser.add_argument('--out', help='output stem (default: benchmarks/results/'
                        '<task>_selection_variants)')
    args = parser.parse_args()
    task = TASKS[args.task]
    plan = [m for m in variants(task) if not args.only or m.key in args.only]
    seeds = list(range(args.seeds))
    root = (args.work_dir or Path(f'work_dirs/benchmark_{task.key}')).resolve()
    records = run_plan(task, plan, seeds, root, args.data, args.teacher, args.cfg_options)
    command = 'benchmarks/selection_variants.py ' + ' '.join(sys.argv[1:])
    text = markdown(task, plan, records, command)
    out = args.out or str(ROOT / 'benchmarks' / 'results' / f'{task.key}_selection_variants')
    Path(out + '.json').write_text(json.dumps(records, indent=1))
    Path(out + '.md').write_text(text)
    print(text)


if __name__ == '__main__':
    main()
