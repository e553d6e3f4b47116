"""benchmarks/gradnorm_overhead.py: uniform KD vs GradNorm (W = layer1, layer4) on the
toy Faster R-CNN distiller, 2 timed iterations of one 64x64 image."""
from __future__ import annotations

import json

from benchmark_smoke import finite, run, table_rows


def test_gradnorm_overhead_writes_its_results(tmp_path):
    out = tmp_path / 'gradnorm'
    run('gradnorm_overhead', '--iterations', '2', '--warmup', '0', '--batch', '1', '--size',
        '64', '--out', out)
    results = json.loads(out.with_suffix('.json').read_text())
    assert results['setup']['iterations'] == 2 and results['setup']['batch'] == 1
    variants = results['variants']
    assert list(variants) == ['uniform', 'gradnorm_layer1', 'gradnorm_layer4']
    assert variants['uniform']['shared_param'] is None
    for name, layer in (('gradnorm_layer1', 'layer1'), ('gradnorm_layer4', 'layer4')):
        v = variants[name]
        assert v['shared_param'].startswith(f'student.backbone.{layer}.')
        assert finite(v['paired_ratio_median'], *v['gradnorm_step_seconds'].values())
        weights = v['final_weights']
        assert list(weights) == ['P2', 'P3', 'P4', 'P5']
        assert abs(sum(weights.values()) - 4) < 1e-4  # GradNorm renormalises to L
    for v in variants.values():
        s = v['seconds']
        assert finite(*s.values()) and 0 < s['q1'] <= s['median'] <= s['q3']
    rows = table_rows(out.with_suffix('.md').read_text())
    assert [row[0] for row in rows[1:]] == list(variants)
    assert rows[1][4] == '1.00x'  # uniform against itself
