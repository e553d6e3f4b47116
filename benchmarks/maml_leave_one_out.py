"""MAML on the real toy tasks, leave one task out: meta-train the selection policy on two
of det / seg / cls, adapt it to the third for K PPO updates, vs the same from scratch.

Per seed: (1) phase 4 (``configs/maml/maml_rlpkd_toy-det-seg-cls.py`` with the held-out
task removed, ``--meta-iters`` meta-iterations) writes ``meta_policy.pth``; (2) for
each K of ``--ks`` and each start (``maml``: ``model.selector.policy_init`` = that file;
``scratch``: a fresh policy), the held-out task's RL-PyramidKD toy config trains its
warm-up phase and then its policy phase (student backbone frozen) for exactly K PPO
updates (no joint phase), and is tested. Reported per (start, K), mean ± std over
seeds: the training reward of the K-th update's rollout (``rl/reward``: the policy after
K - 1 updates), and on the test set the task metric, the distillation-cost fraction and
the distinct subsets of the greedy policy after K updates. Toy-scale CPU numbers.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/maml_leave_one_out.py --held-out cls

Writes ``benchmarks/results/maml_leave_one_out_<held-out>.{md,json}``; runs are reused
from ``--work-dir``.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from runs import mean_std, tool

from rlpkd.apis.cli import read_config
from rlpkd.benchmarking import TASKS
from rlpkd.visualization.scalars import find_scalars_file, load_scalars

ROOT = Path(__file__).resolve().parents[1]
MAML = ROOT / 'configs' / 'maml' / 'maml_rlpkd_toy-det-seg-cls.py'
RESULTS = ROOT / 'benchmarks' / 'results'


def options(key: str, data: Path, teacher: Path) -> dict:
    """``cfg_options`` pointing task ``key``'s RL config at its data and teacher."""
    task = TASKS[key]
    opts = dict(o.split('=', 1) for o in task.data_options(data, _LEARNED))
    opts['model.teacher_ckpt'] = str(teacher)
    return opts


class _Learned:  # the RL config's test_evaluator is [task metric, LevelSelectionMetric]
    learned = True


_LEARNED = _Learned()


def prepare(key: str, work: Path, det_teacher: str | None) -> tuple[Path, Path]:
    """The task's toy data and teacher (trained once, or ``--det-teacher``)."""
    task, data = TASKS[key], work / f'data_{key}'
    if not (data / '.complete').exists():
        tool('make_toy_data.py', task.data_cmd, '--out', data, log=work / f'data_{key}.log')
        (data / '.complete').touch()
    if key == 'det' and det_teacher:
        return data.resolve(), Path(det_teacher).resolve()
    teacher = work / f'teacher_{key}' / 'teacher.pth'
    if not teacher.exists():
        tool('train.py', task.path(task.teacher), '--work-dir', teacher.parent,
             '--cfg-options', *task.data_options(data), 'randomness.seed=0',
             log=work / f'teacher_{key}.log')
        Path((teacher.parent / 'last_checkpoint').read_text().strip()).rename(teacher)
    return data.resolve(), teacher.resolve()


def meta_train(work: Path, seed: int, tasks: dict, args) -> Path:
    """Phase 4 on ``tasks`` ({key: (data, teacher)}); returns the meta-policy file."""
    run = work / f'meta_s{seed}'
    policy = run / 'meta_policy.pth'
    if policy.exists():
        return policy.resolve()
    run.mkdir(parents=True, exist_ok=True)
    entries = [dict(name=key, config=str(TASKS[key].path(TASKS[key].rl)),
                    cfg_options=options(key, *paths),
                    **(dict(collect_samples=8) if key == 'cls' else {}))
               for key, paths in tasks.items()]
    (run / 'config.py').write_text(
        f"_base_ = ['{MAML}']\ntrain_cfg = dict(meta_iters={args.meta_iters}, "
        f'tasks={entries!r})\n')
    tool('train.py', run / 'config.py', '--work-dir', run, '--cfg-options',
         f'randomness.seed={seed}', log=run / 'train.log')
    return policy.resolve()


def adapt(work: Path, seed: int, k: int, start: str, key: str, data: Path, teacher: Path,
          policy: Path) -> dict:
    """Warm-up + exactly ``k`` PPO updates of the held-out task's RL config, then test."""
    run = work / f'adapt_{start}_k{k}_s{seed}'
    done = run / 'result.json'
    if done.exists():
        return json.loads(done.read_text())
    run.mkdir(parents=True, exist_ok=True)
    task = TASKS[key]
    warmup, learn = read_config(str(task.path(task.rl))).train_cfg.phases[:2]
    learn = dict(learn, epochs=None,
                 iters=k * learn['update_interval'] * learn['collect_interval'])
    (run / 'config.py').write_text(f"_base_ = ['{task.path(task.rl)}']\n"
                                   f'train_cfg = dict(phases={[dict(warmup), learn]!r})\n')
    opts = [f'{k_}={v}' for k_, v in options(key, data, teacher).items()]
    opts += [f'randomness.seed={seed}', f'train_cfg.learners.ppo.seed={seed}',
             'default_hooks.logger.interval=1']  # every update's statistics
    if start == 'maml':
        opts.append(f'model.selector.policy_init={policy}')
    start_s = time.time()
    tool('train.py', run / 'config.py', '--work-dir', run, '--cfg-options', *opts,
         log=run / 'train.log')
    train_s = time.time() - start_s
    ckpt = (run / 'last_checkpoint').read_text().strip()
    tool('test.py', run / 'config.py', ckpt, '--work-dir', run / 'test', '--cfg-options',
         *opts, log=run / 'test.log')
    _, rewards = load_scalars(find_scalars_file(run))['rl/reward']
    result = dict(start=start, k=k, seed=seed, train_s=train_s, reward=rewards[-1],
                  metrics=json.loads((run / 'test' / 'metrics.json').read_text()))
    done.write_text(json.dumps(result, indent=1))
    return result


def markdown(results: list, args, seconds: float) -> str:
    task = TASKS[args.held_out]
    metric, label = task.metrics[0]
    lines = [f'MAML leave one task out (toy-scale CPU): meta-trained on '
             f'{" + ".join(k for k in TASKS if k != args.held_out)} ({args.meta_iters} '
             f'meta-iterations), adapted to {args.held_out} for K PPO updates; seeds '
             f'{args.seeds}; `benchmarks/maml_leave_one_out.py --held-out {args.held_out} '
             f'--seeds {" ".join(map(str, args.seeds))} --ks {" ".join(map(str, args.ks))} '
             f'--meta-iters {args.meta_iters}` ({seconds / 60:.0f} min of runs in the last '
             'invocation). reward: training reward of the K-th update\'s rollout; test: '
             'the greedy policy after K updates (student: warm-up + K updates\' '
             'iterations, backbone frozen after the warm-up). mean ± std over seeds.', '',
             f'| start | K | reward | test {label} | distill cost | subsets |',
             '|---|---|---|---|---|---|']
    for k in args.ks:
        for start in ('maml', 'scratch'):
            runs = [r for r in results if r['k'] == k and r['start'] == start]
            lines.append(' | '.join([
                f'| {start}', str(k), mean_std([r['reward'] for r in runs]),
                mean_std([r['metrics'][metric] for r in runs]),
                mean_std([r['metrics']['selection/cost_fraction'] for r in runs]),
                mean_std([r['metrics']['selection/distinct_subsets'] for r in runs])]) + ' |')
    return '\n'.join(lines) + '\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--held-out', choices=sorted(TASKS), default='cls')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--ks', type=int, nargs='+', default=[1, 5, 20])
    parser.add_argument('--meta-iters', type=int, default=30)
    parser.add_argument('--det-teacher', help='toy detection teacher checkpoint (default: '
                        'trained here)')
    parser.add_argument('--work-dir', type=Path, default=Path('work_dirs/maml_loo'))
    args = parser.parse_args()
    work = args.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    start_s = time.time()
    paths = {key: prepare(key, work, args.det_teacher) for key in TASKS}
    results = []
    for seed in args.seeds:
        policy = meta_train(work, seed, {k: v for k, v in paths.items()
                                         if k != args.held_out}, args)
        for k in args.ks:
            for start in ('maml', 'scratch'):
                results.append(adapt(work, seed, k, start, args.held_out,
                                     *paths[args.held_out], policy))
                print(f"seed {seed} K {k} {start}: reward {results[-1]['reward']:.4f}",
                      flush=True)
    out = RESULTS / f'maml_leave_one_out_{args.held_out}'
    text = markdown(results, args, time.time() - start_s)
    out.with_suffix('.json').write_text(json.dumps(results, indent=1))
    out.with_suffix('.md').write_text(text)
    print(text)


if __name__ == '__main__':
    main()
