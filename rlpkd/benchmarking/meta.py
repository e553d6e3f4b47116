"""The meta-learning table: MAML (phase 4) leave one task out, on the toy tasks.

For the held-out task of ``tools/benchmark.py TASK --meta`` and each seed: phase 4
(``configs/maml/maml_rlpkd_toy-det-seg-cls.py`` without the held-out task, ``meta_iters``
meta-iterations) meta-trains the selection policy on the two other toy tasks and writes
``meta_policy.pth``; then, for each K and each start (``maml``: the held-out task's
RL-PyramidKD toy config with ``model.selector.policy_init`` = that file; ``scratch``: a
fresh policy), the config trains its warm-up phase and then its policy phase (student
backbone frozen) for exactly K PPO updates, and is tested. Reported per (start, K): the
training reward of the K-th update's rollout (``rl/reward``: the policy after K - 1
updates) and, on the test set, the task metric, distillation-cost fraction and distinct
subsets of the greedy policy after K updates. Layout under the work directory:
``data_<task>``, ``teacher_<task>``, ``meta_s<seed>``, ``adapt_<start>_k<K>_s<seed>``
(each run reused when its output exists).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from rlpkd.apis.cli import read_config
from rlpkd.visualization.scalars import find_scalars_file, load_scalars

from .launch import run_tool
from .plan import CONFIGS, TASKS
from .progress import PlanProgress
from .suite import prepare_data, prepare_teacher
from .tables import format_cell, stats

MAML_CONFIG = CONFIGS / 'maml' / 'maml_rlpkd_toy-det-seg-cls.py'
STARTS = ('maml', 'scratch')
Paths = Tuple[Path, Path]  # (data, teacher)


def task_options(key: str, data: Path, teacher: Path) -> Dict[str, str]:
    """Options pointing task ``key``'s RL-PyramidKD config at its data and teacher."""
    opts = dict(o.split('=', 1) for o in TASKS[key].data_options(data, learned=True))
    opts['model.teacher_ckpt'] = str(teacher)
    return opts


def meta_train(root: Path, seed: int, tasks: Dict[str, Paths], meta_iters: int,
               on_progress: Callable[[str], None]) -> Path:
    """Phase 4 on ``tasks``; returns the meta-policy file (reused when it exists)."""
    run = root / f'meta_s{seed}'
    policy = run / 'meta_policy.pth'
    if not policy.exists():
        run.mkdir(parents=True, exist_ok=True)
        entries = [dict(name=key, config=str(TASKS[key].path(TASKS[key].rl)),
                        cfg_options=task_options(key, *paths),
                        **(dict(collect_samples=8) if key == 'cls' else {}))
                   for key, paths in tasks.items()]
        (run / 'config.py').write_text(
            f"_base_ = ['{MAML_CONFIG}']\ntrain_cfg = dict(meta_iters={meta_iters}, "
            f'tasks={entries!r})\n')
        run_tool('train.py', [run / 'config.py', '--work-dir', run, '--cfg-options',
                              f'randomness.seed={seed}'], run / 'train.log', on_progress)
    return policy.resolve()


def adapt(root: Path, seed: int, k: int, start: str, key: str, paths: Paths, policy: Path,
          on_progress: Callable[[str], None]) -> dict:
    """Warm-up + exactly ``k`` PPO updates of task ``key``'s RL config from ``start``,
    then its test; returns (and saves) the result."""
    run = root / f'adapt_{start}_k{k}_s{seed}'
    done = run / 'result.json'
    if done.exists():
        return json.loads(done.read_text())
    run.mkdir(parents=True, exist_ok=True)
    config = TASKS[key].path(TASKS[key].rl)
    warmup, learn = read_config(str(config)).train_cfg.phases[:2]
    learn = dict(learn, epochs=None,
                 iters=k * learn['update_interval'] * learn['collect_interval'])
    (run / 'config.py').write_text(f"_base_ = ['{config}']\n"
                                   f'train_cfg = dict(phases={[dict(warmup), learn]!r})\n')
    opts = [f'{name}={value}' for name, value in task_options(key, *paths).items()]
    opts += [f'randomness.seed={seed}', f'train_cfg.learners.ppo.seed={seed}',
             'default_hooks.logger.interval=1']  # every update's statistics
    if start == 'maml':
        opts.append(f'model.selector.policy_init={policy}')
    began = time.time()
    run_tool('train.py', [run / 'config.py', '--work-dir', run, '--cfg-options', *opts],
             run / 'train.log', on_progress)
    ckpt = (run / 'last_checkpoint').read_text().strip()
    run_tool('test.py', [run / 'config.py', ckpt, '--work-dir', run / 'test',
                         '--cfg-options', *opts], run / 'test.log', on_progress)
    _, rewards = load_scalars(find_scalars_file(run))['rl/reward']
    result = dict(start=start, k=k, seed=seed, run_s=time.time() - began, reward=rewards[-1],
                  metrics=json.loads((run / 'test' / 'metrics.json').read_text()))
    done.write_text(json.dumps(result, indent=1))
    return result


def meta_markdown(held_out: str, results: Sequence[dict], seeds: Sequence[int],
                  ks: Sequence[int], meta_iters: int, command: str) -> str:
    """The meta-learning table (mean ± std over seeds)."""
    metric, label = TASKS[held_out].metrics[0]
    others = ' + '.join(k for k in TASKS if k != held_out)
    lines = [f'### Meta-learning: MAML leave one task out ({held_out} held out)', '',
             f'Toy-scale CPU: meta-trained on {others} ({meta_iters} meta-iterations), '
             f'adapted to {held_out} for K PPO updates; seeds {list(seeds)}; `{command}`. '
             "reward: training reward of the K-th update's rollout; test: the greedy "
             "policy after K updates (student: warm-up + the K updates' iterations, "
             'backbone frozen after the warm-up).', '',
             f'| start | K | reward | test {label} | distill cost | subsets |',
             '|---|---|---|---|---|---|']
    for k in ks:
        for start in STARTS:
            runs = [r for r in results if r['k'] == k and r['start'] == start]
            cells = [format_cell(stats([get(r) for r in runs]), digits) for get, digits in (
                (lambda r: r['reward'], 3), (lambda r: r['metrics'][metric], 2),
                (lambda r: r['metrics']['selection/cost_fraction'], 3),
                (lambda r: r['metrics']['selection/distinct_subsets'], 2))]
            lines.append('| ' + ' | '.join([start, str(k), *cells]) + ' |')
    return '\n'.join(lines) + '\n'


def run_meta(held_out: str, seeds: Sequence[int], root: Path, command: str,
             ks: Sequence[int] = (1, 5, 20), meta_iters: int = 60,
             teachers: Optional[Dict[str, Path]] = None, live: Optional[bool] = None) -> str:
    """Every run of the meta-learning table (reused when done); writes
    ``root/meta_results.json`` and ``root/meta_table.md`` and returns the table.
    ``teachers``: existing toy teachers by task (the others are trained)."""
    results: List[dict] = []
    teachers = teachers or {}
    with PlanProgress(len(seeds) * (1 + 2 * len(ks)), live=live) as progress:
        paths = {}
        for key, task in TASKS.items():
            data = prepare_data(task, root, None, f'_{key}')
            paths[key] = (data, prepare_teacher(task, root, data, teachers.get(key),
                                                progress, f'_{key}'))
        for seed in seeds:
            progress.start(f'meta-train seed {seed}')
            policy = meta_train(root, seed, {k: v for k, v in paths.items() if k != held_out},
                                meta_iters, progress.status)
            progress.finish('ok')
            for k in ks:
                for start in STARTS:
                    progress.start(f'adapt {start} K={k} seed {seed}')
                    results.append(adapt(root, seed, k, start, held_out, paths[held_out],
                                         policy, progress.status))
                    progress.finish(f"reward {results[-1]['reward']:.3f}")
    text = meta_markdown(held_out, results, seeds, ks, meta_iters, command)
    (root / 'meta_results.json').write_text(json.dumps(results, indent=1))
    (root / 'meta_table.md').write_text(text)
    return text
