"""MAML fast adaptation on the synthetic task family (toy, CPU).

Meta-trains a :class:`rlpkd.rl.policy.PolicyNetwork` with :class:`MAMLTrainer` (second
and first order) on tasks of :class:`rlpkd.benchmarking.task_family.ContextualTaskFamily`, then
adapts it to *unseen* tasks and counts the adaptation rounds until the deterministic
policy's mean reward reaches 90 % of the oracle's. The same architecture from its
untrained initialisation (the meta-training's starting point) is the from-scratch
baseline. Two adaptation procedures, one round = one rollout of ``--batch`` episodes
collected by the current policy, then

- ``inner``: ``--inner-steps`` SGD steps of the MAML inner loop (lr ``--inner-lr``), the
  update MAML meta-trains for;
- ``ppo``: one :meth:`PPOTrainer.train_step` (Adam lr ``--ppo-lr``, 4 epochs x 4
  minibatches), the update rlpkd's RL phase uses.

Writes ``benchmarks/results/maml_adaptation.{json,md}`` (``--out``: another stem).

    nice -n 10 .venv/bin/python benchmarks/maml_adaptation.py
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import torch

from rlpkd.benchmarking.task_family import (
    UNSEEN_TASKS,
    ContextualTaskFamily,
    inner_loop_update,
    meta_train,
    rounds_to_fraction,
)
from rlpkd.rl.meta_learning import MAMLTrainer
from rlpkd.rl.policy import PolicyNetwork
from rlpkd.rl.ppo import PPOTrainer

RESULTS = Path(__file__).resolve().parent / 'results'
STARTS = ('maml', 'fomaml', 'scratch')
PROCEDURES = ('inner', 'ppo')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--unseen-tasks', type=int, default=5)
    parser.add_argument('--meta-updates', type=int, default=200)
    parser.add_argument('--tasks-per-update', type=int, default=8)
    parser.add_argument('--batch', type=int, default=256)
    parser.add_argument('--inner-lr', type=float, default=0.5)
    parser.add_argument('--inner-steps', type=int, default=5)
    parser.add_argument('--outer-lr', type=float, default=3e-3)
    parser.add_argument('--ppo-lr', type=float, default=1e-3)
    parser.add_argument('--max-rounds', type=int, default=30)
    parser.add_argument('--hidden-dim', type=int, default=64)
    parser.add_argument('--out', default=str(RESULTS / 'maml_adaptation'),
                        help='output stem (.json / .md appended)')
    return parser.parse_args()


def ppo_update(lr: float, seed: int):
    """An adaptation update: one PPO ``train_step`` per round (one trainer per run)."""
    trainer = None

    def update(policy, rollout):
        nonlocal trainer
        trainer = trainer or PPOTrainer(policy, lr=lr, seed=seed)
        trainer.train_step(rollout)
        return policy
    return update


def meta_trained_starts(family: ContextualTaskFamily, args, seed: int) -> tuple[dict, dict]:
    """``{'maml', 'fomaml', 'scratch'}`` start policies and the meta-training stats."""
    torch.manual_seed(seed)
    scratch = PolicyNetwork(state_dim=family.state_dim, hidden_dim=args.hidden_dim,
                            num_layers=family.num_levels, use_lstm=False)
    starts, training = dict(scratch=scratch), {}
    for name, first_order in (('maml', False), ('fomaml', True)):
        trainer = MAMLTrainer(copy.deepcopy(scratch), inner_lr=args.inner_lr,
                              outer_lr=args.outer_lr, num_inner_steps=args.inner_steps,
                              first_order=first_order)
        tic = time.time()
        history = meta_train(trainer, family, args.meta_updates, args.tasks_per_update,
                             args.batch, seed)
        training[name] = dict(seconds=round(time.time() - tic, 1),
                              meta_loss_first=history[0]['meta_loss'],
                              meta_loss_last=history[-1]['meta_loss'])
        starts[name] = trainer.meta_policy
    return starts, training


def adapt_all(family: ContextualTaskFamily, starts: dict, args, seed: int) -> list:
    """Every (unseen task, start, procedure) adaptation run of one seed."""
    runs = []
    for index in range(args.unseen_tasks):
        task_id = UNSEEN_TASKS + index
        for start in STARTS:
            for procedure in PROCEDURES:
                env = family.sample_task(task_id, stream_seed=seed)   # same stream for all
                torch.manual_seed(1000 * seed + index)                # same action noise
                update = (inner_loop_update(args.inner_steps, inner_lr=args.inner_lr)
                          if procedure == 'inner' else ppo_update(args.ppo_lr, seed))
                res = rounds_to_fraction(env, copy.deepcopy(starts[start]), update,
                                         args.max_rounds, args.batch, eval_seed=seed)
                runs.append(dict(seed=seed, task=task_id, start=start, procedure=procedure,
                                 **res))
    return runs


def summarise(runs: list, max_rounds: int, batch: int) -> dict:
    """Per (start, procedure): rounds to 90 % (mean ± std over the runs that got there,
    how many did; episodes = rounds x batch), start fraction, fraction after one round and
    after the last round taken."""
    table = {}
    for start in STARTS:
        for procedure in PROCEDURES:
            sel = [r for r in runs if r['start'] == start and r['procedure'] == procedure]
            hit = torch.tensor([float(r['rounds']) for r in sel if r['rounds'] is not None])
            one = torch.tensor([r['curve'][0] if r['curve'] else r['start_fraction']
                                for r in sel])
            table[f'{start}/{procedure}'] = dict(
                episodes_mean=float(hit.mean()) * batch if len(hit) else None,
                rounds_mean=float(hit.mean()) if len(hit) else None,
                rounds_std=float(hit.std(correction=0)) if len(hit) else None,
                reached=len(hit), runs=len(sel), max_rounds=max_rounds,
                start_fraction=float(torch.tensor([r['start_fraction'] for r in sel]).mean()),
                after_one_round=float(one.mean()), after_one_round_std=float(one.std(correction=0)),
                final_fraction=float(torch.tensor([r['final_fraction'] for r in sel]).mean()))
    return table


def task_references(runs: list) -> dict:
    """Over the unseen (seed, task) pairs: mean best-fixed-subset / oracle reward and
    how many tasks a type-blind subset already gets to 90 % of the oracle."""
    refs = {(r['seed'], r['task']): r['references'] for r in runs}
    fixed = torch.tensor([ref['best_fixed'] / ref['oracle'] for ref in refs.values()])
    return dict(num_tasks=len(refs), best_fixed_fraction=float(fixed.mean()),
                best_fixed_at_90=int((fixed >= 0.9).sum()))


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    runs, training, tic = [], {}, time.time()
    for seed in args.seeds:
        family = ContextualTaskFamily(seed=seed)
        starts, training[seed] = meta_trained_starts(family, args, seed)
        runs += adapt_all(family, starts, args, seed)
        print(f'seed {seed}: {time.time() - tic:.0f} s', flush=True)
    command = ' '.join(['nice -n 10 .venv/bin/python benchmarks/maml_adaptation.py']
                       + sys.argv[1:])
    recorded = {k: v for k, v in vars(args).items() if k != 'out'}  # as before --out
    result = dict(command=command, args=recorded, training=training,
                  summary=summarise(runs, args.max_rounds, args.batch),
                  tasks=task_references(runs), runs=runs, seconds=round(time.time() - tic, 1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out + '.json').write_text(json.dumps(result, indent=1))
    Path(args.out + '.md').write_text(markdown(result))
    print(markdown(result))


def _rounds(row: dict) -> str:
    if row['rounds_mean'] is None:
        return f"not reached in {row['max_rounds']} (0/{row['runs']})"
    text = f"{row['rounds_mean']:.1f} ± {row['rounds_std']:.1f}"
    return text if row['reached'] == row['runs'] else (
        f"{text} ({row['reached']}/{row['runs']} reached; others > {row['max_rounds']})")


def speedups(summary: dict) -> list:
    """Ratios of mean rounds to 90 %, scratch over meta-trained, where every run of both
    reached it (MAML is meant to adapt >= 10x faster)."""
    lines = []
    for start in ('maml', 'fomaml'):
        for scratch_proc in PROCEDURES:
            for proc in PROCEDURES:
                meta, base = summary[f'{start}/{proc}'], summary[f'scratch/{scratch_proc}']
                pair = f'{start}/{proc} vs scratch/{scratch_proc}'
                if meta['reached'] < meta['runs'] or base['reached'] < base['runs']:
                    lines.append(f'- {pair}: no ratio (not every run reached 90 %)')
                elif meta['rounds_mean'] == 0:
                    lines.append(f'- {pair}: meta-trained start already at 90 %')
                else:
                    ratio = base['rounds_mean'] / meta['rounds_mean']
                    lines.append(f'- {pair}: {ratio:.1f}x')
    return ['Speed-up, mean rounds to 90 % from scratch / from the meta-trained start:'] + lines


def notes(result: dict) -> list:
    """How to read the numbers: the set-up choices behind the defaults."""
    tasks, claim = result['tasks'], result['summary']
    maml, scratch = claim['maml/inner'], claim['scratch/inner']
    ratio = (scratch['rounds_mean'] / maml['rounds_mean']
             if maml['reached'] == maml['runs'] and scratch['reached'] == scratch['runs']
             and maml['rounds_mean'] else None)
    verdict = ('not measured (not every run reached 90 %)' if ratio is None else
               f"{ratio:.1f}x: the claim is {'met' if ratio >= 10 else 'not met'} here")
    return [
        'Notes:',
        f"- MAML is meant to adapt >= 10x faster; maml/inner vs scratch/inner: "
        f"{verdict}.",
        '- Starts: `scratch` is the untrained PolicyNetwork (use_lstm=False: the '
        'independent-decision variant, for CPU time; a second-order meta-update through '
        'the LSTM policy cost about 7x more here), `maml` / `fomaml` the same network after '
        'second- / first-order MAMLTrainer meta-training on tasks of the family with ids '
        'below the unseen ones.',
        '- The defaults (inner lr 0.5, outer lr 3e-3, 200 meta-updates) were chosen on '
        'another family seed (100) by the post-adaptation reward of second-order MAML on '
        'its unseen tasks (inner lr 0.1 / 0.5 / 1 / 2, outer lr 1e-3 / 3e-3); first-order '
        'MAML runs with the same values, untuned. Where its query loss grows over '
        'meta-training (last line) and its inner-loop adaptation ends below its start, '
        'the inner SGD steps diverge from where first-order MAML moved the policy; a '
        'likely cause (not investigated further) is the inner-loop Jacobian I - lr H it '
        'ignores, far from I at this inner lr.',
        f"- Difficulty: on these {tasks['num_tasks']} unseen tasks the best type-blind "
        f"subset gets {tasks['best_fixed_fraction']:.3f} of the oracle reward on average "
        f"and reaches 90 % on {tasks['best_fixed_at_90']}; keeping every level (the "
        'untrained greedy policy) is the `scratch` start fraction.']


def markdown(result: dict) -> str:
    args, summary = result['args'], result['summary']
    lines = [
        'MAML fast adaptation on the synthetic contextual task family '
        '(`rlpkd/benchmarking/task_family.py`): toy problem, CPU, 1 thread. Command: '
        f"`{result['command']}` (arguments: {json.dumps(args)}). "
        f"Total {result['seconds']} s.", '',
        f"{args['unseen_tasks']} unseen tasks x {len(args['seeds'])} seeds; a round = "
        f"{args['batch']} episodes collected by the current policy, then the update "
        f"(`inner`: {args['inner_steps']} SGD steps at lr {args['inner_lr']}, the MAML "
        f"inner loop; `ppo`: one PPOTrainer.train_step, Adam lr {args['ppo_lr']}). "
        'Fractions: deterministic policy mean reward / oracle mean reward on 1024 '
        'held-out samples of the task. Rounds to 90 %: mean ± std over the runs that '
        'reached it (0 = the start policy is already there); "after the last round": '
        'where a run stopped (at 90 %, or after the cap).', '',
        '| start | update | rounds to 90 % of oracle | episodes | reward / oracle at start '
        '| after 1 round | after the last round |', '|---|---|---|---|---|---|---|']
    for key, row in summary.items():
        start, procedure = key.split('/')
        episodes = '–' if row['episodes_mean'] is None else f"{row['episodes_mean']:.0f}"
        lines.append(f"| {start} | {procedure} | {_rounds(row)} | {episodes} "
                     f"| {row['start_fraction']:.3f} "
                     f"| {row['after_one_round']:.3f} ± {row['after_one_round_std']:.3f} "
                     f"| {row['final_fraction']:.3f} |")
    lines += [''] + speedups(summary) + [''] + notes(result)
    lines += ['', 'Meta-training per seed (time; query loss after adaptation, first -> last '
              'meta-update): ' + '; '.join(
                  f"seed {seed}: " + ', '.join(
                      f"{name} {t['seconds']} s, {t['meta_loss_first']:.3g} -> "
                      f"{t['meta_loss_last']:.3g}" for name, t in tr.items())
                  for seed, tr in result['training'].items())]
    return '\n'.join(lines) + '\n'


if __name__ == '__main__':
    main()
