"""Can the learner learn the known answer within one toy run's episodes?

The known answer itself is the reward (per episode: the fraction of the four
keep/drop decisions that match the image's known answer, ``+ σ·N(0, 1)`` for a reward
of limited reliability), on the states of a finished known-answer run
(:mod:`rlpkd.benchmarking.known_states`: its student and corrupted teacher). Each
update takes 16 episodes on random train images (the level-credit config: 4 recorded
samples per step × ``update_interval`` 4); the policy (LSTM, ``init_keep_prob`` 0.75)
learns with the configured PPO or with :class:`rlpkd.learners.LevelCreditLearner`
(which also scores each episode's four one-level flips: 5 scored selections per
episode). Reports the fraction of val images whose greedy decisions all match, after
a given number of episodes (a toy run of the level-credit config scores ≈ 264: 60
policy-phase steps × 4 + the joint phase's 6 × 4), mean ± std over seeds. Writes
``benchmarks/results/learner_probe.{md,json}``; toy-scale CPU.

    .venv/bin/python benchmarks/learner_probe.py --runs \
        work_dirs/known_answer_v3/noise/uniform_KD/seed_0 \
        work_dirs/known_answer_v3/flip/uniform_KD/seed_0
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from mmengine.config import Config

from rlpkd.benchmarking.known_states import FinishedRun, KnownStates
from rlpkd.benchmarking.tables import format_cell, out_flag, stats
from rlpkd.learners import (
    LevelCreditExperience,
    LevelCreditLearner,
    PolicyExperience,
    PPOLearner,
)

ROOT = Path(__file__).resolve().parents[1]
FIELD_SETS = {'prototype': ('global', 'levels', 'gap'),
              'discrepancy': ('discrepancy', ),
              'discrepancy + agreement': ('discrepancy', 'agreement')}
DEFAULT_OUT = ROOT / 'benchmarks' / 'results' / 'learner_probe'
DEFAULT_FIELDS = ['prototype', 'discrepancy']
PER_UPDATE = 16
CHECKPOINTS = (64, 128, 192, 256, 512, 1024)


def configured(name: str) -> dict:
    cfg = Config.fromfile(ROOT / 'configs' / '_base_' / 'distillers' / 'rlpkd.py')
    learner = dict(cfg[name])
    learner.pop('type')
    return learner


def known_reward(actions, answers, sigma, gen):
    return (actions == answers).float().mean(dim=1) + sigma * torch.randn(
        len(actions), generator=gen)


def experience(policy, states, answers, credit: bool, sigma: float, gen):
    """One update's episodes: sampled decisions scored by the known reward."""
    with torch.no_grad():
        actions, log_probs, values = policy.select_action(states)
    rewards = known_reward(actions, answers, sigma, gen)
    record = dict(states=states, actions=actions, log_probs=log_probs, values=values,
                  rewards=rewards, improvement=rewards, used_cost=actions.mean(dim=1),
                  baselines=values, baseline_cost=torch.zeros(len(states)))
    if not credit:
        return PolicyExperience(**record)
    flips = torch.stack([known_reward((actions - torch.eye(4)[level]).abs(), answers, sigma,
                                      gen) for level in range(4)], dim=1)
    return LevelCreditExperience(**record, flip_rewards=flips)


def match(policy, val: KnownStates) -> float:
    with torch.no_grad():
        greedy = policy.select_action(val.states, deterministic=True)[0]
    return float((greedy == val.answers).all(dim=1).float().mean())


def learn(finished: FinishedRun, fields, data: dict, learner_name: str, sigma: float,
          seed: int) -> list:
    """Val match after each of :data:`CHECKPOINTS` episodes."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    credit = learner_name == 'level credit'
    selector = finished.selector(fields, level_credit=credit, fit=False)
    learner = LevelCreditLearner(selector, **configured('level_credit_learner')) if credit \
        else PPOLearner(selector, **dict(configured('ppo_learner'), seed=seed))
    policy, train, out = selector.learnable(), data['train'], []
    for update in range(1, CHECKPOINTS[-1] // PER_UPDATE + 1):
        index = torch.randint(len(train.states), (PER_UPDATE, ), generator=gen)
        learner.add(experience(policy, train.states[index], train.answers[index], credit,
                               sigma, gen))
        learner.update()
        if update * PER_UPDATE in CHECKPOINTS:
            out.append(match(policy, data['val']))
    return out


def probe_run(run: Path, seeds, sigmas, field_sets) -> dict:
    finished = FinishedRun(run)
    rows = []
    for name in field_sets:
        fields = FIELD_SETS[name]
        data = finished.splits(finished.selector(fields))
        keep_all = float(data['val'].answers.all(dim=1).float().mean())
        for learner_name in ('PPO', 'level credit'):
            for sigma in sigmas:
                runs = [learn(finished, fields, data, learner_name, sigma, s) for s in seeds]
                rows.append(dict(fields=name, learner=learner_name, sigma=sigma, runs=runs))
                print(run, rows[-1], flush=True)
    return dict(run=str(run), rows=rows, keep_all=keep_all)


def fields_flag(field_sets) -> str:
    """`` --fields ...`` for the command line, unless the default field sets."""
    if list(field_sets) == DEFAULT_FIELDS:
        return ''
    return ' --fields ' + ' '.join(f"'{name}'" if ' ' in name else name
                                   for name in field_sets)


def cell(values) -> str:
    return format_cell(stats(values), 2)


def markdown(results: list, args) -> str:
    runs = ' '.join(r['run'] for r in results)
    keep_all = ', '.join(f"{r['keep_all']:.2f}" for r in results)
    lines = ['Learner probe (toy-scale CPU): the known answer as the reward (fraction of '
             'matching decisions + σ·N(0, 1)), states of finished known-answer runs, '
             f'{PER_UPDATE} episodes per update; the fraction of val images whose greedy '
             f'decisions all match after each number of episodes, mean ± std over seeds '
             f'{args.seeds} (the untrained policy keeps every level, which matches the '
             f'share of val images whose answer keeps every level: {keep_all}). A toy run of the '
             'level-credit config scores ≈ 264 episodes. `benchmarks/learner_probe.py '
             f'--runs {runs} --seeds {" ".join(map(str, args.seeds))} --sigmas '
             f'{" ".join(map(str, args.sigmas))}{fields_flag(args.fields)}'
             f'{out_flag(args.out, DEFAULT_OUT, ROOT)}`.', '',
             '| run | state fields | learner | σ | ' +
             ' | '.join(f'{n} episodes' for n in CHECKPOINTS) + ' |',
             '|---' * (4 + len(CHECKPOINTS)) + '|']
    for result in results:
        for row in result['rows']:
            cells = [cell([r[k] for r in row['runs']]) for k in range(len(CHECKPOINTS))]
            lines.append(f"| {result['run']} | {row['fields']} | {row['learner']} | "
                         f"{row['sigma']} | " + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', nargs='+', type=Path, default=[
        Path('work_dirs/known_answer_v3/noise/uniform_KD/seed_0'),
        Path('work_dirs/known_answer_v3/flip/uniform_KD/seed_0')])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--sigmas', type=float, nargs='+', default=[0.0, 0.5])
    parser.add_argument('--fields', nargs='+', choices=list(FIELD_SETS),
                        default=DEFAULT_FIELDS, help='the state field sets probed')
    parser.add_argument('--out', default=str(DEFAULT_OUT))
    args = parser.parse_args()
    results = [probe_run(run, args.seeds, args.sigmas, args.fields) for run in args.runs]
    Path(args.out + '.json').write_text(json.dumps(dict(args=dict(
        runs=[str(r) for r in args.runs], seeds=args.seeds, sigmas=args.sigmas,
        fields=args.fields),
        results=results), indent=1))
    Path(args.out + '.md').write_text(markdown(results, args))
    print(markdown(results, args))


if __name__ == '__main__':
    main()
