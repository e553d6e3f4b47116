"""benchmarks/rl_contextual.py: PPO on the synthetic selection problem, 2 iterations."""
from __future__ import annotations

import json

from benchmark_smoke import finite, run, table_rows


def test_rl_contextual_writes_its_results(tmp_path):
    out = tmp_path / 'rl_contextual'
    run('rl_contextual', '--iterations', '2', '--steps', '1', '--batch', '8', '--out', out)
    results = json.loads(out.with_suffix('.json').read_text())
    assert list(results) == ['unconstrained', 'budget']
    for problem, runs in results.items():
        assert [(r['name'], r['hard_budget']) for r in runs] == [
            ('sequential', problem == 'budget'), ('independent', False)]
        for r in runs:
            ref = r['references']
            assert r['samples'] == 2 * 1 * 8 and len(r['curve']) == 2
            assert finite(r['final_reward'], r['fraction_of_oracle'], ref['oracle'],
                          ref['best_fixed'], ref['random'], *r['curve'])
            # the oracle is the best subset per sample: no policy or fixed subset beats it
            assert ref['oracle'] >= max(ref['best_fixed'], ref['random'], r['final_reward'])
            assert abs(r['fraction_of_oracle'] - r['final_reward'] / ref['oracle']) < 1e-6
    rows = table_rows(out.with_suffix('.md').read_text())
    assert [row[:2] for row in rows[1:]] == [
        ['unconstrained', 'sequential'], ['unconstrained', 'independent'],
        ['budget', 'sequential (hard budget)'], ['budget', 'independent']]
    assert '--iterations 2 --steps 1 --batch 8 --seed 0' in out.with_suffix('.md').read_text()
