"""PPO level selection on a synthetic problem with a known optimum.

Trains the sequential (LSTM) and the independent policy with PPO on
:class:`rlpkd.benchmarking.contextual.ContextualSelectionEnv`, unconstrained and with per-sample
budgets, and reports against exact references: the oracle (best subset per sample),
the best fixed subset (the most a per-dataset search such as NAS can find) and a random
policy. Writes ``benchmarks/results/rl_contextual.{json,md}`` (``--out``: another stem).

    .venv/bin/python benchmarks/rl_contextual.py [--iterations 150]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from rlpkd.benchmarking.contextual import ContextualSelectionEnv, train_ppo

RESULTS = Path(__file__).resolve().parent / 'results'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iterations', type=int, default=150)
    parser.add_argument('--steps', type=int, default=4)
    parser.add_argument('--batch', type=int, default=128)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', default=str(RESULTS / 'rl_contextual'),
                        help='output stem (.json / .md appended)')
    args = parser.parse_args()
    torch.set_num_threads(1)
    problems = {'unconstrained': dict(budgets=(1.0,)),
                'budget': dict(budgets=(0.1, 0.3, 1.0))}
    results = {}
    for problem, kwargs in problems.items():
        env = ContextualSelectionEnv(seed=args.seed, **kwargs)
        results[problem] = []
        for name, use_lstm, hard in (('sequential', True, problem == 'budget'),
                                     ('independent', False, False)):
            res = train_ppo(name, env, use_lstm, hard, args.iterations, args.steps,
                            args.batch, args.seed)
            results[problem].append(res)
            print(problem, name, {k: v for k, v in res.items() if k != 'curve'}, flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out + '.json').write_text(json.dumps(results, indent=1))
    Path(args.out + '.md').write_text(markdown(results, args))


def markdown(results: dict, args) -> str:
    lines = ['Synthetic level selection with a known optimum (CPU, 1 thread); '
             f'`benchmarks/rl_contextual.py --iterations {args.iterations} --steps '
             f'{args.steps} --batch {args.batch} --seed {args.seed}`. Rewards of the '
             'deterministic policy on 2048 held-out samples.', '',
             '| problem | policy | reward | / oracle | oracle | best fixed subset | random '
             '| 90 % of oracle after | wall time |', '|---|---|---|---|---|---|---|---|---|']
    for problem, runs in results.items():
        for run_ in runs:
            ref = run_['references']
            hit = run_['reached_90']
            hit = (f"{hit['samples']} samples, {hit['seconds']} s" if hit else 'not reached')
            lines.append(
                f"| {problem} | {run_['name']}{' (hard budget)' if run_['hard_budget'] else ''}"
                f" | {run_['final_reward']:.3f} | {run_['fraction_of_oracle']:.3f} "
                f"| {ref['oracle']:.3f} | {ref['best_fixed']:.3f} {ref['best_fixed_subset']} "
                f"| {ref['random']:.3f} | {hit} | {run_['seconds']} s |")
    return '\n'.join(lines) + '\n'


if __name__ == '__main__':
    main()
