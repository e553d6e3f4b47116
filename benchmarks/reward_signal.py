"""Does a reward tell the known answer apart? Rewards of candidate selections per image.

On the known-answer benchmark (``rlpkd/benchmarking/parts/known_answer.py``: teacher
levels that are wrong for some images) a reward can only teach per-sample choices if,
on a given image, it scores the known answer above the alternatives. This scores, on
every val image of a finished known-answer run (its trained student, its corrupted
teacher), candidate selections with each reward signal (λ = 0, the reward the RL runs
use): with the ``group`` layout *all levels*, *drop P2*, *drop P5*, *drop both*; with
``all_but_one`` *all levels* and *only P2* … *only P5* (one of them is each image's
known answer). It reports per group (size group, or the image's right level) and over
all images the mean reward of each candidate and how often the known answer scores
highest. No training: the reward is measured on a fixed student, as
:class:`rlpkd.models.selectors.RLSelector` measures it during training. Writes
``<--out>.{md,json}``.

    .venv/bin/python benchmarks/reward_signal.py \\
        [--run work_dirs/known_answer_v3/noise/uniform_KD/seed_0] [--signals gap task]
"""
from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

import torch

from rlpkd.benchmarking.parts import group_of
from rlpkd.benchmarking.studies import load_finished_run
from rlpkd.pyramid.functional import TaskInputs
from rlpkd.rl.environment import ParallelDistillationEnv

ROOT = Path(__file__).resolve().parents[1]

#: the scored selections of each layout (one of them is every image's known answer)
CANDIDATES = {
    'group': {'all levels': (1, 1, 1, 1), 'drop P2': (0, 1, 1, 1), 'drop P5': (1, 1, 1, 0),
              'drop P2 and P5': (0, 1, 1, 0)},
    'all_but_one': {'all levels': (1, 1, 1, 1), 'only P2': (1, 0, 0, 0),
                    'only P3': (0, 1, 0, 0), 'only P4': (0, 0, 1, 0), 'only P5': (0, 0, 0, 1)}}


@torch.no_grad()
def score_batch(model, env: ParallelDistillationEnv, batch, by_size: bool = False) -> list:
    """``[{group, answer, rewards: {candidate: float}}]`` for the images of one batch
    (group: the size group, or the right level with ``layout='all_but_one'``, followed by
    the size group with ``by_size``)."""
    data = model.data_preprocessor(batch, True)
    inputs, samples = data['inputs'], data['data_samples']
    teacher = model.teacher_pyramid(inputs, samples)
    with model.pair.student_tap.record() as student, env.observe() as observed:
        model.student.loss(inputs, samples)
    _, observation = env.states(observed, student, teacher, task=TaskInputs(inputs, samples))
    candidates = CANDIDATES[model.answers.layout]
    rewards = {}
    for name, levels in candidates.items():
        action = torch.tensor([levels] * len(samples), dtype=torch.float32)
        rewards[name] = env.score(observation, action)[0].tolist()
    records = []
    for i, sample in enumerate(samples):
        known = model.answers.answer(sample.metainfo['img_path'])
        answer = next(n for n, levels in candidates.items() if levels == known)
        size = group_of(model.groups, sample)
        group = size if model.answers.layout == 'group' else \
            f'right {model.pair.level_names[known.index(1)]}' + (f', {size}' if by_size else '')
        records.append(dict(group=group, answer=answer,
                            rewards={n: r[i] for n, r in rewards.items()}))
    return records


def summarise(records: list) -> dict:
    """Per group and over all images: the mean reward of each candidate, and the fraction
    of images whose known answer gets the highest reward (ties count as misses)."""
    by_group = defaultdict(list)
    for r in records:
        by_group[r['group']].append(r)
    out = {}
    for group, rows in [*sorted(by_group.items()), ('all', records)]:
        best = [all(r['rewards'][r['answer']] > v for n, v in r['rewards'].items()
                    if n != r['answer']) for r in rows]
        answers = sorted({r['answer'] for r in rows})
        out[group] = dict(images=len(rows), known_answer=' / '.join(answers),
                          mean={n: statistics.mean(r['rewards'][n] for r in rows)
                                for n in rows[0]['rewards']},
                          answer_is_best=sum(best) / len(rows))
    return out


def markdown(results: dict, args) -> str:
    names = list(next(iter(next(iter(results.values())).values()))['mean'])
    lines = [f'Reward of candidate selections on the known-answer val images (toy-scale CPU; '
             f'student and corrupted teacher of `{args.run}`, λ = 0, virtual step '
             f'lr {args.lookahead_lr} capped at {args.max_drop} of the gap). '
             f'`benchmarks/reward_signal.py --run {args.run} --signals '
             f'{" ".join(args.signals)} --lookahead-lr {args.lookahead_lr} --max-drop '
             f'{args.max_drop}{" --by-size" if args.by_size else ""} --out {args.out}`. '
             '"best": fraction of the group\'s images '
             'on which the known answer gets a strictly higher reward than every other '
             'candidate (ties count as misses). The lookahead task-type rewards are '
             'divided by the size of the image\'s all-levels drop, so their "all levels" '
             'column is the mean of ±1 values; the stitching reward is the relative drop '
             'of the teacher\'s task loss (`rlpkd/rl/stitching.py`).', '',
             '| signal | group | known answer | ' + ' | '.join(names) + ' | best |',
             '|---' * (len(names) + 4) + '|']
    for signal, groups in results.items():
        for group, s in groups.items():
            lines.append(f"| {signal} | {group} ({s['images']}) | {s['known_answer']} | "
                         + ' | '.join(f"{s['mean'][n]:.3f}" for n in names)
                         + f" | {s['answer_is_best']:.2f} |")
    return '\n'.join(lines) + '\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--run', default='work_dirs/known_answer_v3/noise/uniform_KD/seed_0')
    parser.add_argument('--signals', nargs='+', default=['gap', 'task'])
    parser.add_argument('--lookahead-lr', type=float, default=0.01,
                        help='the virtual step size (model.selector.lookahead_lr)')
    parser.add_argument('--max-drop', type=float, default=0.1,
                        help='its cap (model.selector.lookahead_max_drop)')
    parser.add_argument('--by-size', action='store_true',
                        help='all_but_one layout: one row per right level and size group')
    parser.add_argument('--out', default=str(ROOT / 'benchmarks' / 'results' / 'reward_signal'))
    args = parser.parse_args()
    model, loader = load_finished_run(Path(args.run))
    if args.by_size and model.answers.layout != 'all_but_one':
        parser.error(f'--by-size: {args.run} has the {model.answers.layout!r} layout, whose '
                     'groups are already the size groups')
    results = {}
    for signal in args.signals:
        env = ParallelDistillationEnv(model, lambda_tradeoff=0.0, reward_signal=signal,
                                      lookahead_lr=args.lookahead_lr,
                                      lookahead_max_drop=args.max_drop)
        records = [r for batch in loader for r in score_batch(model, env, batch, args.by_size)]
        results[signal] = summarise(records)
        print(signal, json.dumps(results[signal]), flush=True)
    Path(args.out + '.json').write_text(json.dumps(dict(args=vars(args), results=results),
                                                   indent=1))
    Path(args.out + '.md').write_text(markdown(results, args))
    print(markdown(results, args))


if __name__ == '__main__':
    main()
