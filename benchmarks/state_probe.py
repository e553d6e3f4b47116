"""Does the state carry the known answer? Probes fitted on train images, scored on val.

States of a finished known-answer run (``benchmarks/known_answer.py``; its student and
corrupted teacher), for several ``model.selector.state_fields``: the prototype's
(``global``, ``levels``, ``gap``: 1542 entries), the per-level signals
(``discrepancy``, ``agreement``, ``reliability``: :mod:`rlpkd.rl.signals`) and
combinations. Two probes per
field set, fitted to the known answers of the train images (which level to drop,
``rlpkd.benchmarking.parts.KNOWN_ANSWER``) and scored on the val images (the fraction
whose four decisions all match): a logistic regression per level on the standardised
state (L2, L-BFGS) and the configured policy network (LSTM, 256) fitted by maximum
likelihood (Adam 1e-3, 1000 full-batch steps, its train match reported: 300 steps at
3e-4 left it underfitted; per-level signals also reach their own decision). Also the
seconds per batch of each signal next to a training iteration.
Writes ``benchmarks/results/state_probe.{md,json}``; toy-scale CPU.

    .venv/bin/python benchmarks/state_probe.py --runs \
        work_dirs/known_answer_v3/noise/uniform_KD/seed_0 \
        work_dirs/known_answer_v3/flip/uniform_KD/seed_0
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Optional, Tuple

import torch
from torch import nn

from rlpkd.benchmarking.known_states import POLICY, FinishedRun, KnownStates
from rlpkd.benchmarking.tables import format_cell, out_flag, stats
from rlpkd.rl import PolicyNetwork
from rlpkd.rl.state import LEVEL_SIGNALS

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / 'benchmarks' / 'results' / 'state_probe'
FIELD_SETS = {'prototype (global, levels, gap)': ('global', 'levels', 'gap'),
              'discrepancy': ('discrepancy', ),
              'agreement': ('agreement', ),
              'discrepancy + agreement': ('discrepancy', 'agreement'),
              'discrepancy + reliability': ('discrepancy', 'reliability'),
              'prototype + discrepancy + reliability': ('global', 'levels', 'gap',
                                                        'discrepancy', 'reliability')}


def features(split: KnownStates, layout, fields) -> torch.Tensor:
    """The state's entries of ``fields`` (without the constant selected / budget)."""
    return torch.cat([layout.read(split.states, f) for f in fields], dim=1)


def logistic_match(train: torch.Tensor, val: torch.Tensor, data: dict, seed: int,
                   weight_decay: float = 1e-2) -> float:
    """Per-level logistic regressions (features standardised by train statistics)."""
    torch.manual_seed(seed)
    mean, std = train.mean(dim=0), train.std(dim=0).clamp(min=1e-6)
    train, val = (train - mean) / std, (val - mean) / std
    probe = nn.Linear(train.shape[1], data['train'].answers.shape[1])
    optimizer = torch.optim.LBFGS(probe.parameters(), max_iter=200,
                                  line_search_fn='strong_wolfe')
    loss_fn = nn.BCEWithLogitsLoss()

    def closure():
        optimizer.zero_grad()
        loss = loss_fn(probe(train), data['train'].answers) + \
            weight_decay * probe.weight.pow(2).sum()
        loss.backward()
        return loss
    optimizer.step(closure)
    with torch.no_grad():
        decided = (probe(val) > 0).float()
    return float((decided == data['val'].answers).all(dim=1).float().mean())


def policy_match(data: dict, layout, seed: int, steps: int = 1000, lr: float = 1e-3
                 ) -> Tuple[float, float]:
    """The configured policy fitted to the answers by maximum likelihood; its (val,
    train) match (the train match shows whether the fit converged)."""
    torch.manual_seed(seed)
    policy = PolicyNetwork(state_dim=layout.dim, num_layers=4, layout=layout, **POLICY)
    optimizer = torch.optim.Adam(policy.parameters(), lr=lr)
    for _ in range(steps):
        loss = -policy.evaluate_actions(data['train'].states, data['train'].answers)[0].mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return tuple(float((policy.select_action(data[k].states, deterministic=True)[0] ==
                            data[k].answers).all(dim=1).float().mean())
                     for k in ('val', 'train'))


def one_level_match(data: dict, layout, fields, seed: int, weight_decay: float = 1e-2
                    ) -> Optional[float]:
    """Where every answer keeps exactly one level (``layout='all_but_one'``): a softmax
    over the levels of a per-level linear score of that level's own signal entries
    (the per-level fields among ``fields``, standardised by train statistics), fitted by
    cross-entropy (L-BFGS) — it knows that one level is right, so it bounds what the
    state carries rather than what independent keep/drop decisions express. None when
    the answers keep more levels or ``fields`` has no per-level signal."""
    level_fields = [f for f in fields if f in LEVEL_SIGNALS]
    if not level_fields or not all((data[k].answers.sum(dim=1) == 1).all()
                                   for k in ('train', 'val')):
        return None
    torch.manual_seed(seed)
    train, val = (torch.stack([layout.read(data[k].states, f) for f in level_fields], dim=2)
                  for k in ('train', 'val'))                       # [N, L, F]
    mean, std = train.mean(dim=0), train.std(dim=0).clamp(min=1e-6)
    train, val = (train - mean) / std, (val - mean) / std
    weight = torch.zeros(train.shape[1:], requires_grad=True)
    bias = torch.zeros(train.shape[1], requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=200, line_search_fn='strong_wolfe')
    target = data['train'].answers.argmax(dim=1)

    def closure():
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy((train * weight).sum(dim=2) + bias, target) + \
            weight_decay * weight.pow(2).sum()
        loss.backward()
        return loss
    optimizer.step(closure)
    with torch.no_grad():
        chosen = ((val * weight).sum(dim=2) + bias).argmax(dim=1)
    return float((chosen == data['val'].answers.argmax(dim=1)).float().mean())


def keep_all_share(split: KnownStates) -> float:
    """The share of images whose answer keeps every level (what keeping all scores)."""
    return float(split.answers.all(dim=1).float().mean())


def probe_run(run: Path, seeds) -> dict:
    finished = FinishedRun(run)
    out = dict(run=str(run), costs=finished.field_costs(), rows=[])
    for name, fields in FIELD_SETS.items():
        selector = finished.selector(fields)
        data, layout = finished.splits(selector), selector.env.layout
        out['keep_all'] = keep_all_share(data['val'])
        train, val = (features(data[k], layout, fields) for k in ('train', 'val'))
        one = [one_level_match(data, layout, fields, s) for s in seeds]
        policy = [policy_match(data, layout, s) for s in seeds]
        out['rows'].append(dict(
            fields=name, state_dim=layout.dim,
            logistic=[logistic_match(train, val, data, s) for s in seeds],
            policy=[v for v, _ in policy], policy_train=[t for _, t in policy],
            one_level=None if None in one else one))
        print(run, out['rows'][-1], flush=True)
    return out


def cell(values) -> str:
    return format_cell(stats(values), 2)


def markdown(results: list, args) -> str:
    runs = ' '.join(r['run'] for r in results)
    keep_all = ', '.join(f"{r['keep_all']:.2f}" for r in results)
    lines = ['State probe (toy-scale CPU): does the state carry the known answer? States of '
             'the train / val images of finished known-answer runs (student and corrupted '
             'teacher after uniform KD); probes fitted to the train images\' known answers, '
             'scored on the val images: the fraction whose four keep/drop decisions all '
             f'match (mean ± std over fitting seeds {args.seeds}; the share of val images '
             'whose answer keeps every level, per run: '
             f'{keep_all}). '
             '`benchmarks/state_probe.py --runs '
             f'{runs} --seeds {" ".join(map(str, args.seeds))}'
             f'{out_flag(args.out, DEFAULT_OUT, ROOT)}`.', '',
             'Where every answer keeps one level, "one level of L" is a probe that knows it '
             '(softmax over the levels of a linear score of each level\'s own signal entries): '
             'what the state carries, not what independent keep/drop decisions express.', '',
             '| run | state fields | entries | logistic regression | policy network '
             '(supervised) | its train match | one level of L |',
             '|---|---|---|---|---|---|---|']
    for result in results:
        for row in result['rows']:
            one = '–' if row.get('one_level') is None else cell(row['one_level'])
            lines.append(f"| {result['run']} | {row['fields']} | {row['state_dim']} | "
                         f"{cell(row['logistic'])} | {cell(row['policy'])} | "
                         f"{cell(row['policy_train'])} | {one} |")
    lines += ['', 'Cost of the signals (seconds per batch of 8 val images, one run; the '
              'training iteration is the distiller\'s loss forward + backward):', '',
              '| run | training iteration | discrepancy | agreement | reliability |',
              '|---|---|---|---|---|']
    for result in results:
        costs = result['costs']
        lines.append(f"| {result['run']} | {costs['iteration']:.3f} | "
                     f"{costs['discrepancy']:.3f} "
                     f"({costs['discrepancy'] / costs['iteration']:.0%}) | "
                     f"{costs['agreement']:.3f} "
                     f"({costs['agreement'] / costs['iteration']:.0%}) | "
                     f"{costs['reliability']:.3f} "
                     f"({costs['reliability'] / costs['iteration']:.0%}) |")
    return '\n'.join(lines) + '\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', nargs='+', type=Path, default=[
        Path('work_dirs/known_answer_v3/noise/uniform_KD/seed_0'),
        Path('work_dirs/known_answer_v3/flip/uniform_KD/seed_0')])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--out', default=str(DEFAULT_OUT))
    args = parser.parse_args()
    results = [probe_run(run, args.seeds) for run in args.runs]
    Path(args.out + '.json').write_text(json.dumps(dict(args=dict(
        runs=[str(r) for r in args.runs], seeds=args.seeds), results=results), indent=1))
    Path(args.out + '.md').write_text(markdown(results, args))
    print(markdown(results, args))


if __name__ == '__main__':
    main()
