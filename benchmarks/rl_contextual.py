"""PPO level selection on a synthetic problem with a known optimum.

Trains the sequential (LSTM) and the independent policy with PPO on
:class:`rlpkd.rl.contextual.ContextualSelectionEnv`, unconstrained and with per-sample
budgets, and reports against exact references: the oracle (best subset per sample),
the best fixed subset (the most a per-dataset search such as NAS can find) and a random
policy. Writes ``benchmarks/results/rl_contextual.{json,md}``.

    .venv/bin/python benchmarks/rl_contextual.py [--iterations 150]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from rlpkd.rl.buffer import RolloutBuffer
from rlpkd.rl.contextual import ContextualSelectionEnv
from rlpkd.rl.policy import PolicyNetwork
from rlpkd.rl.ppo import PPOTrainer

RESULTS = Path(__file__).resolve().parent / 'results'


def evaluate(env: ContextualSelectionEnv, policy: PolicyNetwork, states, types, budget) -> float:
    """Mean reward of the deterministic policy on a fixed evaluation set."""
    with torch.no_grad():
        action, _, _ = policy.select_action(states, deterministic=True)
    return float(env.rewards(types, budget, action)[0].mean())


def run(name: str, env: ContextualSelectionEnv, use_lstm: bool, hard_budget: bool,
        iterations: int, steps: int, batch: int, seed: int) -> dict:
    torch.manual_seed(seed)
    policy = PolicyNetwork(state_dim=env.state_dim, hidden_dim=64, num_layers=env.num_levels,
                           use_lstm=use_lstm, level_costs=env.costs, hard_budget=hard_budget)
    trainer = PPOTrainer(policy, lr=1e-3, seed=seed)
    buffer = RolloutBuffer(steps, batch, env.state_dim, env.num_levels)
    eval_states, eval_types, eval_budget = env.sample(
        2048, torch.Generator().manual_seed(seed + 999))       # held out, same features
    references = env.references(eval_types, eval_budget)
    oracle = references['oracle']
    curve, reached, start = [], None, time.time()
    for it in range(1, iterations + 1):
        for _ in range(steps):
            states = env.reset(batch)
            with torch.no_grad():
                action, log_prob, value = policy.select_action(states)
            _, reward, done, _ = env.step(action)
            buffer.add(states, action, reward, value, log_prob, done)
        trainer.train_step(buffer.as_rollout())
        buffer.reset()
        fraction = evaluate(env, policy, eval_states, eval_types, eval_budget) / oracle
        curve.append(round(fraction, 4))
        if reached is None and fraction >= 0.9:
            reached = dict(iteration=it, samples=it * steps * batch,
                           seconds=round(time.time() - start, 2))
    final = evaluate(env, policy, eval_states, eval_types, eval_budget)
    return dict(name=name, use_lstm=use_lstm, hard_budget=hard_budget, final_reward=final,
                references=references, fraction_of_oracle=final / oracle,
                reached_90=reached, seconds=round(time.time() - start, 2),
                samples=iterations * steps * batch, curve=curve)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iterations', type=int, default=150)
    parser.add_argument('--steps', type=int, default=4)
    parser.add_argument('--batch', type=int, default=128)
    parser.add_argument('--seed', type=int, default=0)
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
            res = run(name, env, use_lstm, hard, args.iterations, args.steps, args.batch,
                      args.seed)
            results[problem].append(res)
            print(problem, name, {k: v for k, v in res.items() if k != 'curve'}, flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / 'rl_contextual.json').write_text(json.dumps(results, indent=1))
    (RESULTS / 'rl_contextual.md').write_text(markdown(results, args))


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
