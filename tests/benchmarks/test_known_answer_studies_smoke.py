"""benchmarks/reward_signal.py and benchmarks/known_answer_policy.py on a finished
known-answer run (the ``known_answer_run`` fixture: uniform KD, 3 epochs, 8 / 4 images)."""
from __future__ import annotations

import json
import runpy

import pytest
import torch
from benchmark_smoke import ROOT, finite, run, table_rows

CANDIDATES = ['all levels', 'drop P2', 'drop P5', 'drop P2 and P5']
ANSWERS = {'large': 'drop P5', 'mixed': 'all levels', 'small': 'drop P2',
           'all': 'all levels / drop P2 / drop P5'}
GROUPS = {'large': 1, 'mixed': 1, 'small': 2}  # of the 4 val images
ROWS = {**GROUPS, 'all': 4}  # reward_signal's rows: each group, then every image


def test_reward_signal_scores_the_candidates(known_answer_run, tmp_path, capsys):
    out = tmp_path / 'reward_signal'
    run('reward_signal', '--run', known_answer_run, '--signals', 'gap', 'task', 'stitching',
        '--out', out)
    results = json.loads(out.with_suffix('.json').read_text())['results']
    assert list(results) == ['gap', 'task', 'stitching']
    for signal, groups in results.items():
        assert {g: s['images'] for g, s in groups.items()} == ROWS
        for group, s in groups.items():
            assert s['known_answer'] == ANSWERS[group]
            assert list(s['mean']) == CANDIDATES and finite(*s['mean'].values())
            assert s['answer_is_best'] * s['images'] in range(s['images'] + 1)
    # the gap reward of a selection is its share of the all-levels gap drop (λ = 0)
    assert all(s['mean']['all levels'] == 1.0 for s in results['gap'].values())
    assert all(v <= 1.0 for s in results['stitching'].values() for v in s['mean'].values())
    with pytest.raises(SystemExit) as refused:
        run('reward_signal', '--run', known_answer_run, '--by-size', '--out', out)
    assert refused.value.code == 2
    assert 'already the size groups' in capsys.readouterr().err
    rows = table_rows(out.with_suffix('.md').read_text())
    assert [row[:3] for row in rows[1:]] == [
        [signal, f'{g} ({n})', ANSWERS[g]] for signal in results for g, n in ROWS.items()]


def test_known_answer_policy_learns_from_the_run_states(known_answer_run, tmp_path):
    out = tmp_path / 'policy'
    run('known_answer_policy', '--run', known_answer_run, '--seeds', '0', '--rows', '0',
        '--out', out)
    record = json.loads(out.with_suffix('.json').read_text())
    assert record['args']['rows'] == [0]
    rows = record['rows']
    assert [r['per_update'] for r in rows] == ['supervised', 16]
    assert (rows[1]['episodes'], rows[1]['sigma'], rows[1]['standardise']) == (192, 0.0, False)
    for r in rows:
        [runs] = r['runs']
        assert sorted(runs) == sorted(['all', 'keep_P2_small', 'keep_P5_large', *GROUPS])
        assert all(finite(v) and 0 <= v <= 1 for v in runs.values())
        assert runs['all'] * 4 in range(5)  # a fraction of the 4 val images
    md = out.with_suffix('.md').read_text()
    assert '--seeds 0 --rows 0`' in md
    assert [row[:3] for row in table_rows(md)[1:]] == [['supervised', '–', '–'],
                                                        ['16', '192', '0.0']]


def test_standardised_states_keep_the_budget():
    """The script's standardisation (the PPO rows with standardised states): per entry by
    the train statistics, except the budget entry, which the policy reads as it is."""
    script = runpy.run_path(str(ROOT / 'benchmarks' / 'known_answer_policy.py'))
    budget = script['StateLayout'].pyramid(4)['budget']
    gen = torch.Generator().manual_seed(0)
    train = (torch.randn(8, 1542, generator=gen) * 3 + 1, None, None)
    val = (torch.randn(4, 1542, generator=gen), None, None)
    train_std, val_std = script['standardised'](train, val)
    assert torch.equal(train_std[0][:, budget], train[0][:, budget])
    assert torch.equal(val_std[0][:, budget], val[0][:, budget])
    rest = torch.ones(1542, dtype=torch.bool)
    rest[budget] = False
    assert torch.allclose(train_std[0][:, rest].mean(0), torch.zeros(1), atol=1e-5)
    assert torch.allclose(train_std[0][:, rest].std(0), torch.ones(1), atol=1e-5)
    mean, std = train[0][:, rest].mean(0), train[0][:, rest].std(0)
    assert torch.allclose(val_std[0][:, rest], (val[0][:, rest] - mean) / std, atol=1e-5)
