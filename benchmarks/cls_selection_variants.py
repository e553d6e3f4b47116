"""Which RL-PyramidKD variant can find what the NAS baselines found on toy classification?

`tools/benchmark.py cls` showed that a fixed level choice matters there (res4 alone
beats uniform KD at ~0.23 of its distillation cost; res5 alone is harmful), while
RL-PyramidKD keeps every level and loses to uniform KD through its phase schedule (phase
2 freezes the student backbone, which is the distilled pyramid). This script runs, with
the same data, teacher and seeds (reusing that benchmark's finished runs in
``work_dirs/benchmark_cls``), the variants that separate these effects:

- fixed subsets res4 / res3+res4 (uniform KD's schedule, ``FixedSelector``);
- RL-PyramidKD (full) with phase 2 not freezing the backbone;
- the same with the task-loss reward and the self-critical baseline (λ 0.5);
- the same with the task-loss reward, self-critical, and a cost target of 0.5 (λ 0).

Writes ``benchmarks/results/cls_selection_variants.{md,json}``. Toy-scale CPU numbers.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/cls_selection_variants.py
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from rlpkd.benchmarking import TASKS, Method, methods, run_plan
from rlpkd.benchmarking.tables import Column, adaptive, adaptive_text

ROOT = Path(__file__).resolve().parents[1]
TASK = TASKS['cls']
UNFROZEN = ('train_cfg.phases.1.freeze=()', )
TASK_SC = ('model.selector.reward_signal=task', 'model.selector.self_critical=True')


def variants() -> list[Method]:
    base = {m.key: m for m in methods(TASK)}
    rl = base['rl']
    fixed = 'model.selector.type=rlpkd.FixedSelector'
    return [
        base['uniform'], rl, base['rl_schedule_uniform'],
        Method('fixed_res4', 'fixed subset res4', 'fixed', TASK.uniform,
               (fixed, 'model.selector.levels=[res4]')),
        Method('fixed_res3_res4', 'fixed subset res3 + res4', 'fixed', TASK.uniform,
               (fixed, 'model.selector.levels=[res3,res4]')),
        Method('rl_unfrozen', 'RL-PyramidKD (full), phase 2 unfrozen', 'ablation', TASK.rl,
               (*rl.options, *UNFROZEN)),
        Method('rl_unfrozen_task_sc', '+ task reward, self-critical', 'ablation', TASK.rl,
               (*rl.options, *UNFROZEN, *TASK_SC)),
        Method('rl_unfrozen_task_sc_target', '+ task reward, self-critical, cost target 0.5 '
               '(λ = 0)', 'ablation', TASK.rl,
               (*rl.options, *UNFROZEN, *TASK_SC, 'model.selector.lambda_tradeoff=0.0',
                'train_cfg.learners.ppo.cost_target=0.5')),
    ]


COLUMNS = (
    Column('top-1', lambda r: r['metrics'].get('accuracy/top1'), 2),
    Column('distill cost (test)', lambda r: r['cost']),
    Column('distill cost (training)', lambda r: r.get('train_cost', r['cost'])),
    *(Column(f'{lv} kept', lambda r, lv=lv: r['metrics'].get(f'selection/rate_{lv}'), 2)
      for lv in TASK.levels),
    Column('sample-adaptive', adaptive, text=adaptive_text),
)


def markdown(plan: list[Method], records: list[dict], seeds: list[int]) -> str:
    lines = ['Toy classification (toy-scale CPU, 2 cores): RL-PyramidKD variants vs fixed '
             f'subsets, seeds {seeds}, `benchmarks/cls_selection_variants.py --seeds '
             f'{len(seeds)}` (runs shared with `tools/benchmark.py cls`). mean ± std over '
             'seeds; "kept": the greedy policy\'s rate on the test set; the fixed subsets\' '
             'cost (from the NAS searches\' level costs): res4 0.231, res3 + res4 0.484.',
             '',
             '| method | ' + ' | '.join(c.label for c in COLUMNS) + ' |',
             '|---' * (len(COLUMNS) + 1) + '|']
    for method in plan:
        runs = [r for r in records if r['key'] == method.key]
        lines.append(f'| {method.label} | ' + ' | '.join(c.cell(runs) for c in COLUMNS)
                     + ' |')
    return '\n'.join(lines) + '\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, default=3)
    parser.add_argument('--work-dir', type=Path, default=Path('work_dirs/benchmark_cls'))
    args = parser.parse_args()
    plan, seeds = variants(), list(range(args.seeds))
    root = args.work_dir.resolve()
    records = run_plan(TASK, plan, seeds, root)
    text = markdown(plan, records, seeds)
    out = ROOT / 'benchmarks' / 'results' / 'cls_selection_variants'
    out.with_suffix('.json').write_text(json.dumps(records, indent=1))
    out.with_suffix('.md').write_text(text)
    print(text)


if __name__ == '__main__':
    main()
