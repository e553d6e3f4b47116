"""Known-answer benchmark: can a selector learn *per-sample* level choices?

On the toy COCO data the teacher's P2 is replaced by noise on images with only large
objects and its P5 on images with only small objects (``benchmarks/known_answer_parts.py``);
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
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'benchmarks'))
from known_answer_parts import KNOWN_ANSWER  # noqa: E402

CFG = ROOT / 'configs' / 'faster_rcnn'
TEACHER = CFG / 'faster-rcnn_r18-w32_fpn_toy-coco.py'
UNIFORM = CFG / 'kd-uniform_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'
RL = CFG / 'rlpkd_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'
LEVELS = ('P2', 'P3', 'P4', 'P5')
RL_TASK = ['model.selector.reward_signal=task', 'model.selector.self_critical=True',
           'train_cfg.phases.1.collect_samples=4', 'train_cfg.phases.2.collect_samples=4']
METHODS = {
    'uniform KD': (UNIFORM, []),
    'fixed: drop P2': (UNIFORM, ['model.selector.type=rlpkd.FixedSelector',
                                 'model.selector.levels=[P3,P4,P5]']),
    'fixed: drop P5': (UNIFORM, ['model.selector.type=rlpkd.FixedSelector',
                                 'model.selector.levels=[P2,P3,P4]']),
    'fixed: drop P2 and P5': (UNIFORM, ['model.selector.type=rlpkd.FixedSelector',
                                        'model.selector.levels=[P3,P4]']),
    'group oracle': (UNIFORM, ['model.selector.type=rlpkd.GroupOracleSelector']),
    'RL-PyramidKD, gap reward': (RL, ['model.selector.lambda_tradeoff=0.0']),
    'RL-PyramidKD, task reward, self-critical': (RL, ['model.selector.lambda_tradeoff=0.0',
                                                      *RL_TASK]),
}


def tool(name: str, *args, log: Path) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT / 'benchmarks'), os.environ.get('PYTHONPATH', '')]))
    with open(log, 'w') as out:
        proc = subprocess.run([sys.executable, str(ROOT / 'tools' / name), *map(str, args)],
                              cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    if proc.returncode:
        raise RuntimeError(f'{name} failed, see {log}')


def data_options(data: Path, rl: bool) -> list[str]:
    ann = f'{data}/annotations/instances_val.json'
    opts = [f'{k}_dataloader.dataset.data_root={data}/' for k in ('train', 'val', 'test')]
    opts += [f'val_evaluator.ann_file={ann}',
             f"test_evaluator{'.0' if rl else ''}.ann_file={ann}",
             'train_cfg.val_interval=1000', 'default_hooks.checkpoint.interval=1000']
    return opts


def run_one(method: str, seed: int, args, data: Path, teacher: Path) -> dict:
    cfg, extra = METHODS[method]
    work = Path(args.work_dir) / f"{method.replace(' ', '_').replace(',', '')}_s{seed}"
    done = work / 'result.json'
    if done.exists():
        return json.loads(done.read_text())
    work.mkdir(parents=True, exist_ok=True)
    rl = cfg == RL
    anns = f'[{data}/annotations/instances_train.json,{data}/annotations/instances_val.json]'
    # a config file (not --cfg-options) so that mmengine imports the benchmark's parts
    config = work / 'config.py'
    config.write_text(f"_base_ = ['{cfg}']\ncustom_imports = dict(imports=['rlpkd', "
                      "'known_answer_parts'], allow_failed_imports=False)\n")
    opts = data_options(data, rl) + [
        'model.type=rlpkd.KnownAnswerDistiller', f'model.ann_files={anns}',
        f'model.teacher_ckpt={teacher}', f'randomness.seed={seed}', *extra]
    if 'GroupOracleSelector' in ' '.join(extra):
        opts.append(f'model.selector.ann_files={anns}')
    third = args.epochs // 3
    opts += ([f'train_cfg.phases.{i}.epochs={n}' for i, n in
              enumerate((third, third, args.epochs - 2 * third))] if rl
             else [f'train_cfg.max_epochs={args.epochs}'])
    start = time.time()
    tool('train.py', config, '--work-dir', work, '--cfg-options', *opts,
         log=work / 'train.log')
    train_s = time.time() - start
    test_opts = list(opts)
    if rl:
        test_opts += [f'test_evaluator.1.group_file={data}/annotations/instances_val.json',
                      f'test_evaluator.1.dump_file={work}/decisions.jsonl']
    tool('test.py', config, work / f'epoch_{args.epochs}.pth', '--work-dir', work / 'test',
         '--cfg-options', *test_opts, log=work / 'test.log')
    metrics = json.loads((work / 'test' / 'metrics.json').read_text())
    result = dict(method=method, seed=seed, train_s=train_s, metrics=metrics)
    if rl:
        result['match'] = match_fraction(work / 'decisions.jsonl')
    done.write_text(json.dumps(result, indent=1))
    return result


def match_fraction(dump: Path) -> float:
    """Fraction of val images whose kept levels are the known answer of their group."""
    records = [json.loads(line) for line in dump.read_text().splitlines()]
    hits = [tuple(int(v != 0) for v in r['levels']) == KNOWN_ANSWER[r['group']]
            for r in records]
    return sum(hits) / len(hits)


def mean_std(values: list) -> str:
    if not values:
        return '–'
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f'{statistics.mean(values):.3f} ± {std:.3f}'


def markdown(results: list, args) -> str:
    lines = [f'Known-answer benchmark (toy-scale CPU): teacher P2 = noise on "large" images, '
             f'P5 = noise on "small" images, λ = 0; {args.num_train} train / '
             f'{args.num_val} val images, {args.epochs} epochs, seeds {args.seeds}. '
             f'`benchmarks/known_answer.py --seeds {" ".join(map(str, args.seeds))} '
             f'--epochs {args.epochs} --num-train {args.num_train} --num-val '
             f'{args.num_val}`. mean ± std over seeds.', '',
             '| method | mAP | AP_s | AP_l | distill cost | P2 kept (large / small / mixed) '
             '| P5 kept (large / small / mixed) | subsets | matches known answer | train (s) |',
             '|---' * 10 + '|']
    for method in METHODS:
        runs = [r for r in results if r['method'] == method]
        if not runs:
            continue

        def col(key, runs=runs):
            return mean_std([r['metrics'][key] for r in runs if key in r['metrics']])

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
    parser.add_argument('--work-dir', default='work_dirs/known_answer')
    parser.add_argument('--out', default=str(ROOT / 'benchmarks' / 'results' / 'known_answer'))
    args = parser.parse_args()
    work = Path(args.work_dir)
    data = work / 'data'
    tool('make_toy_data.py', 'det', '--out', data, '--num-train', args.num_train,
         '--num-val', args.num_val, log=work.mkdir(parents=True, exist_ok=True) or
         work / 'data.log')
    teacher = work / 'teacher' / 'epoch_12.pth'
    if not teacher.exists():
        tool('train.py', TEACHER, '--work-dir', work / 'teacher', '--cfg-options',
             *data_options(data, False)[:-2], log=work / 'teacher.log')
    results = []
    for seed in args.seeds:
        for method in args.methods:
            results.append(run_one(method, seed, args, data.resolve(), teacher.resolve()))
            print(f"{method} seed {seed}: mAP {results[-1]['metrics']['coco/bbox_mAP']}"
                  + (f" match {results[-1]['match']:.2f}" if 'match' in results[-1] else ''),
                  flush=True)
    Path(args.out + '.json').write_text(json.dumps(results, indent=1))
    Path(args.out + '.md').write_text(markdown(results, args))
    print(markdown(results, args))


if __name__ == '__main__':
    main()
