"""Can the learner learn the known answer within one toy run's episodes?

The known answer itself is the reward (per episode: the fraction of the four
keep/drop decisions that match the image's known answer, ``+ σ·N(0, 1)`` for a reward
of limited reliability), on the states of a finished known-answer run
(:mod:`rlpkd.benchmarking.known_states`: its student and corrupted teacher). Each
update takes 16 episodes on random train images (the level-credit config: 4 recorded
samples per step × ``update_interval`` 4); the policy (LSTM, ``init_keep_prob`` 0.75)
learns with the configured PPO or with :class:`rlpkd.learners.LevelCreditLearner`
(which also scores each episode's four one-level flips: 5 scored selections per
episode). ``--reward SIGNAL`` replaces the known answer with a measured reward (λ = 0)
of the run: every train image's reward of all 16 subsets, measured once on the fixed
student (:meth:`~rlpkd.benchmarking.known_states.FinishedRun.subset_rewards`) and
looked up per episode: what the learner makes of that reward without the noise of a
changing student. Reports the fraction of val images whose greedy decisions all match, after
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

from rlpkd.benchmarking.known_states import FinishedRun, KnownStates, subset_index
from rlpkd.benchmarking.tables import format_cell, out_flag, stats
from rlpkd.learners import (
    LevelCreditExperience,
    LevelCreditLearner,
    PolicyExperience,
    PPOLearner,
)
from rlpkd.rl.reward import SIGNALS

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


def known_reward(answers, sigma, gen):
    """The reward of the known answer: ``f(actions) -> [N]``, the fraction of matching
    decisions + ``σ·N(0, 1)``."""
    return lambda actions: (actions == answers).float().mean(dim=1) + sigma * torch.randn(
        len(actions), generator=gen)


def measured_reward(table):
    """The measured reward of each selection: a lookup in the images' subset rewards
    ``table`` ``[N, 2^L]`` (:meth:`FinishedRun.subset_rewards`)."""
    return lambda actions: table.gather(1, subset_index(actions)[:, None])[:, 0]


def experience(policy, states, reward, credit: bool):
    """One update's episodes: sampled decisions scored by ``reward`` (actions -> [N])."""
    with torch.no_grad():
        actions, log_probs, values = policy.select_action(states)
    rewards = reward(actions)
    record = dict(states=states, actions=actions, log_probs=log_probs, values=values,
                  rewards=rewards, improvement=rewards, used_cost=actions.mean(dim=1),
                  baselines=values, baseline_cost=torch.zeros(len(states)))
    if not credit:
        return PolicyExperience(**record)
    flips = torch.stack([reward((actions - torch.eye(4)[level]).abs()) for level in range(4)],
                        dim=1)
    return LevelCreditExperience(**record, flip_rewards=flips)


def match(policy, val: KnownStates) -> float:
    """The fraction of val images whose greedy decisions all match the known answer."""
    return float((greedy(policy, val) == val.answers).all(dim=1).float().mean())


def kept(policy, val: KnownStates) -> list:
    """``[right, wrong]``: how often the greedy policy keeps the levels the known answers
    keep (right) and drop (wrong), over all val images and levels."""
    decisions, answers = greedy(policy, val), val.answers.bool()
    return [float(decisions[answers].mean()), float(decisions[~answers].mean())]


def greedy(policy, val: KnownStates):
    with torch.no_grad():
        return policy.select_action(val.states, deterministic=True)[0]


def learn(finished: FinishedRun, fields, data: dict, learner_name: str, sigma: float,
          seed: int, table=None) -> list:
    """Val match after each of :data:`CHECKPOINTS` episodes, and the right / wrong
    levels kept after the last (:func:`kept`); the reward: the known
    answer's (with ``sigma``), or the measured one of the train images' ``table``."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    credit = learner_name == 'level credit'
    selector = finished.selector(fields, level_credit=credit, fit=False)
    learner = LevelCreditLearner(selector, **configured('level_credit_learner')) if credit \
        else PPOLearner(selector, **dict(configured('ppo_learner'), seed=seed))
    policy, train, out = selector.learnable(), data['train'], []
    for update in range(1, CHECKPOINTS[-1] // PER_UPDATE + 1):
        index = torch.randint(len(train.states), (PER_UPDATE, ), generator=gen)
        reward = known_reward(train.answers[index], sigma, gen) if table is None else \
            measured_reward(table[index])
        learner.add(experience(policy, train.states[index], reward, credit))
        learner.update()
        if update * PER_UPDATE in CHECKPOINTS:
            out.append(match(policy, data['val']))
    return out, kept(policy, data['val'])


def probe_run(run: Path, seeds, sigmas, field_sets, signal=None) -> dict:
    """Rows of one run; with ``signal`` the reward is that measured signal (no σ)."""
    finished = FinishedRun(run)
    table = None if signal is None else finished.subset_rewards(signal, 'train')
    sigmas = sigmas if signal is None else [None]
    rows = []
    for name in field_sets:
        fields = FIELD_SETS[name]
        data = finished.splits(finished.selector(fields))
        keep_all = float(data['val'].answers.all(dim=1).float().mean())
        for learner_name in ('PPO', 'level credit'):
            for sigma in sigmas:
                runs, kept_last = zip(*[learn(finished, fields, data, learner_name, sigma,
                                              s, table) for s in seeds])
                rows.append(dict(fields=name, learner=learner_name, sigma=sigma,
                                 runs=list(runs), kept=list(kept_last)))
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


def reward_text(args) -> str:
    if args.reward == 'known':
        return ('the known answer as the reward (fraction of matching decisions + '
                'σ·N(0, 1))')
    return (f'the measured `{args.reward}` reward (λ = 0) as the reward: each train '
            'image\'s reward of all 16 level subsets, measured once on the run\'s '
            'student and corrupted teacher (`FinishedRun.subset_rewards`), looked up per '
            'episode (σ: –)')


def command(args, runs: str) -> str:
    flags = (f' --sigmas {" ".join(map(str, args.sigmas))}' if args.reward == 'known'
             else f' --reward {args.reward}')
    return (f'`benchmarks/learner_probe.py --runs {runs} --seeds '
            f'{" ".join(map(str, args.seeds))}{flags}{fields_flag(args.fields)}'
            f'{out_flag(args.out, DEFAULT_OUT, ROOT)}`')


def markdown(results: list, args) -> str:
    runs = ' '.join(r['run'] for r in results)
    keep_all = ', '.join(f"{r['keep_all']:.2f}" for r in results)
    lines = [f'Learner probe (toy-scale CPU): {reward_text(args)}, states of finished '
             f'known-answer runs, {PER_UPDATE} episodes per update; the fraction of val '
             'images whose greedy decisions all match the known answer after each number '
             f'of episodes, mean ± std over seeds {args.seeds} (the untrained policy keeps '
             'every level, which matches the share of val images whose answer keeps every '
             f'level: {keep_all}). A toy run of the level-credit config scores ≈ 264 '
             f'episodes. {command(args, runs)}.', '',
             '| run | state fields | learner | σ | ' +
             ' | '.join(f'{n} episodes' for n in CHECKPOINTS) +
             f' | right / wrong levels kept after {CHECKPOINTS[-1]} |',
             '|---' * (5 + len(CHECKPOINTS)) + '|']
    for result in results:
        for row in result['rows']:
            cells = [cell([r[k] for r in row['runs']]) for k in range(len(CHECKPOINTS))]
            sigma = '–' if row['sigma'] is None else row['sigma']
            right, wrong = (cell([k[i] for k in row['kept']]) for i in (0, 1))
            lines.append(f"| {result['run']} | {row['fields']} | {row['learner']} | "
                         f"{sigma} | " + ' | '.join(cells) + f' | {right} / {wrong} |')
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
    parser.add_argument('--reward', choices=['known', *SIGNALS], default='known',
                        help="'known': the known answer (with --sigmas); a reward signal: "
                        'its measured reward of every subset on the run (λ = 0)')
    parser.add_argument('--out', default=str(DEFAULT_OUT))
    args = parser.parse_args()
    signal = None if args.reward == 'known' else args.reward
    results = [probe_run(run, args.seeds, args.sigmas, args.fields, signal)
               for run in args.runs]
    Path(args.out + '.json').write_text(json.dumps(dict(args=dict(
        runs=[str(r) for r in args.runs], seeds=args.seeds, sigmas=args.sigmas,
        fields=args.fields, reward=args.reward),
        results=results), indent=1))
    Path(args.out + '.md').write_text(markdown(results, args))
    print(markdown(results, args))


if __name__ == '__main__':
    main()
