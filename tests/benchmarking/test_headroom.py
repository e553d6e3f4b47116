"""Paired headroom statistics (rlpkd/benchmarking/headroom.py)."""
import math

from rlpkd.benchmarking.headroom import fixed_subsets, headroom_markdown, paired, subset_label


def test_every_proper_subset_once():
    subsets = fixed_subsets(('P2', 'P3', 'P4', 'P5'))
    assert len(subsets) == 14 == len(set(subsets))
    assert subsets[0] == ('P2', 'P3', 'P4') and subsets[-1] == ('P5', )
    assert subset_label(('P3', 'P4')) == 'fixed: P3+P4'


def test_paired_difference_and_standard_error():
    row = paired({0: 0.30, 1: 0.20, 2: 0.25}, {0: 0.28, 1: 0.17, 2: 0.24, 3: 0.9})
    assert row['n'] == 3
    assert math.isclose(row['mean'], 0.02)
    assert math.isclose(row['se'], 0.01 / math.sqrt(3))
    assert row['clear']  # 0.02 > 2 x 0.0058
    assert not paired({0: 0.3, 1: 0.2}, {0: 0.2, 1: 0.3})['clear']
    assert paired({0: 0.3}, {0: 0.2})['se'] is None


def records(method, values):
    return [dict(method=method, seed=s, status='ok', metrics={'m': v})
            for s, v in enumerate(values)]


def test_verdict_needs_uniform_and_every_fixed_subset_beaten():
    oracle = records('group oracle', [0.30, 0.31, 0.29])
    uniform = records('uniform KD', [0.20, 0.22, 0.19])
    close = records('fixed: P3+P4', [0.30, 0.30, 0.30])
    text = headroom_markdown(oracle + uniform + close, 'group oracle', 'm', 'mAP')
    assert '| uniform KD | 3 | +0.0967 |' in text
    assert 'no: not clearly above fixed: P3+P4' in text
    text = headroom_markdown(oracle + uniform, 'group oracle', 'm', 'mAP')
    assert 'Headroom (group oracle clearly above uniform KD and the 0 fixed subsets run): yes' \
        in text
