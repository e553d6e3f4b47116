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
    rows = {(r['fields'], r['learner']): r['runs'] for r in result['rows']}
    assert set(rows) == {(f, learner) for f in ('prototype', 'discrepancy')
                         for learner in ('PPO', 'level credit')}
    for (runs, ) in rows.values():
        assert len(runs) == 6 and all(0.0 <= m <= 1.0 for m in runs)
    text = out.with_suffix('.md').read_text()
    assert '| discrepancy | level credit | 0.0 |' in text
