"""benchmarks/maml_adaptation.py: MAML / FOMAML meta-training and adaptation to an
unseen task of the synthetic family, at the smallest sizes."""
from __future__ import annotations

import json

from benchmark_smoke import finite, run, table_rows

STARTS, PROCEDURES = ('maml', 'fomaml', 'scratch'), ('inner', 'ppo')


def test_maml_adaptation_writes_its_results(tmp_path):
    out = tmp_path / 'maml'
    run('maml_adaptation', '--seeds', '0', '--unseen-tasks', '1', '--meta-updates', '2',
        '--tasks-per-update', '1', '--batch', '8', '--inner-steps', '1', '--max-rounds', '2',
        '--hidden-dim', '8', '--out', out)
    result = json.loads(out.with_suffix('.json').read_text())
    assert 'out' not in result['args'] and result['args']['max_rounds'] == 2
    assert sorted(result['training']['0']) == ['fomaml', 'maml']
    assert all(finite(t['meta_loss_first'], t['meta_loss_last'])
               for t in result['training']['0'].values())
    runs = result['runs']
    assert sorted((r['start'], r['procedure']) for r in runs) == sorted(
        (s, p) for s in STARTS for p in PROCEDURES)
    for r in runs:
        assert finite(r['start_fraction'], r['final_fraction'], *r['curve'])
        # stops at the first round at 90 % of the oracle, else after --max-rounds
        assert len(r['curve']) == (2 if r['rounds'] is None else r['rounds'])
    summary = result['summary']
    assert list(summary) == [f'{s}/{p}' for s in STARTS for p in PROCEDURES]
    assert all(row['runs'] == 1 and row['reached'] <= 1 and finite(row['start_fraction'])
               for row in summary.values())
    assert result['tasks']['num_tasks'] == 1
    md = out.with_suffix('.md').read_text()
    assert [row[:2] for row in table_rows(md)[1:]] == [
        [s, p] for s in STARTS for p in PROCEDURES]
    assert md.count('- maml/') == 4 and 'Speed-up' in md
