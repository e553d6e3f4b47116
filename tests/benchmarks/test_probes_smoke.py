"""benchmarks/state_probe.py and benchmarks/learner_probe.py on a finished known-answer run
(the ``known_answer_run`` fixture: uniform KD, 3 epochs, 8 / 4 images)."""
from __future__ import annotations

import json

from benchmark_smoke import finite, run


def test_state_probe_fits_and_scores_every_field_set(known_answer_run, tmp_path):
    out = tmp_path / 'state_probe'
    run('state_probe', '--runs', known_answer_run, '--seeds', '0', '--out', out)
    (result, ) = json.loads(out.with_suffix('.json').read_text())['results']
    dims = {row['fields']: row['state_dim'] for row in result['rows']}
    assert dims == {'prototype (global, levels, gap)': 1542, 'discrepancy': 9,
                    'agreement': 9, 'discrepancy + agreement': 13,
                    'discrepancy + reliability': 10,
                    'prototype + discrepancy + reliability': 1547}
    # the fixture's group layout keeps 3 or 4 levels per image: no one-level probe
    assert all(row['one_level'] is None for row in result['rows'])
    matches = [m for row in result['rows'] for m in (*row['logistic'], *row['policy'])]
    assert all(m in (0.0, 0.25, 0.5, 0.75, 1.0) for m in matches)  # of 4 val images
    costs = result['costs']
    assert set(costs) == {'iteration', 'discrepancy', 'agreement', 'reliability'}
    assert finite(*costs.values()) and all(c > 0 for c in costs.values())
    assert '| discrepancy | 9 |' in out.with_suffix('.md').read_text()


def test_learner_probe_reports_every_checkpoint(known_answer_run, tmp_path):
    out = tmp_path / 'learner_probe'
    run('learner_probe', '--runs', known_answer_run, '--seeds', '0', '--sigmas', '0.0',
        '--out', out)
    (result, ) = json.loads(out.with_suffix('.json').read_text())['results']
    rows = {(r['fields'], r['learner']): r for r in result['rows']}
    assert set(rows) == {(f, learner) for f in ('prototype', 'discrepancy')
                         for learner in ('PPO', 'level credit')}
    for row in rows.values():
        (runs, ), ((right, wrong), ) = row['runs'], row['kept']
        assert len(runs) == 6 and all(0.0 <= m <= 1.0 for m in runs)
        assert 0.0 <= right <= 1.0 and 0.0 <= wrong <= 1.0
    text = out.with_suffix('.md').read_text()
    assert '| discrepancy | level credit | 0.0 |' in text


def test_subset_rewards_score_every_subset_of_every_image(known_answer_run):
    import torch

    from rlpkd.benchmarking.known_states import FinishedRun, subset_index
    finished = FinishedRun(known_answer_run)
    table = finished.subset_rewards('gap', 'val')
    assert table.shape == (4, 16)                                # 4 val images, 2^4 subsets
    # λ = 0: the gap reward is the selection's share of the all-levels drop
    torch.testing.assert_close(table[:, 15], torch.ones(4))
    torch.testing.assert_close(table[:, 0], torch.zeros(4))
    assert subset_index(torch.tensor([[0, 0, 0, 1], [1, 0, 0, 0], [1, 1, 1, 1.]])).tolist() \
        == [1, 8, 15]


def test_learner_probe_learns_from_a_measured_reward(known_answer_run, tmp_path):
    out = tmp_path / 'learner_probe'
    run('learner_probe', '--runs', known_answer_run, '--seeds', '0', '--reward', 'stitching',
        '--fields', 'discrepancy', '--out', out)
    (result, ) = json.loads(out.with_suffix('.json').read_text())['results']
    assert [(r['learner'], r['sigma']) for r in result['rows']] == [
        ('PPO', None), ('level credit', None)]
    text = out.with_suffix('.md').read_text()
    assert 'the measured `stitching` reward' in text and '--reward stitching' in text
    assert '| discrepancy | level credit | – |' in text
