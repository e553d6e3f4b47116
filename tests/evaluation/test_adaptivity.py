"""Adaptivity statistics on handmade decisions, and the metric's group lookup."""
import json

import numpy as np
import pytest

from rlpkd.evaluation.adaptivity import adaptivity, entropy_bits, mutual_information_bits
from rlpkd.evaluation.selection_metric import LevelSelectionMetric

NAMES = ('P2', 'P3', 'P4', 'P5')


def test_one_subset_for_everyone_is_not_adaptive():
    masks = np.tile([0, 1, 1, 1], (6, 1))
    out = adaptivity(masks, np.full(6, 0.25), NAMES, groups=['s', 'l'] * 3)
    assert out['distinct_subsets'] == 1 and out['subset_entropy'] == 0.0
    assert out['cost_std'] == 0.0 and out['group_mi'] == 0.0
    assert out['rate_P2/s'] == 0.0 and out['rate_P5/l'] == 1.0


def test_decisions_that_follow_the_group_carry_its_information():
    # small-object images drop P5, large-object images drop P2: the known answer
    masks = np.array([[1, 1, 1, 0], [0, 1, 1, 1]] * 4)
    groups = ['small', 'large'] * 4
    out = adaptivity(masks, np.array([0.9, 0.3] * 4), NAMES, groups)
    assert out['distinct_subsets'] == 2
    assert out['subset_entropy'] == pytest.approx(1.0)
    assert out['group_mi'] == pytest.approx(1.0)          # = H(S) = H(G)
    assert out['cost_std'] == pytest.approx(0.3)
    assert out['rate_P2/small'] == 1.0 and out['rate_P2/large'] == 0.0
    # the same two subsets, assigned regardless of the group: no information
    shuffled = np.array([[1, 1, 1, 0], [1, 1, 1, 0], [0, 1, 1, 1], [0, 1, 1, 1]] * 2)
    assert adaptivity(shuffled, np.zeros(8), NAMES, groups)['group_mi'] == \
        pytest.approx(0.0, abs=1e-12)


def test_information_by_hand():
    assert entropy_bits(['a', 'b', 'c', 'd']) == pytest.approx(2.0)
    # H(A) = 1, H(B) = H(3/4, 1/4) = 0.8113, H(A, B) = H(1/2, 1/4, 1/4) = 1.5
    assert mutual_information_bits([0, 0, 1, 1], [0, 0, 1, 0]) == \
        pytest.approx(1.0 + 0.811278 - 1.5, abs=1e-6)


def test_metric_reads_groups_from_a_coco_file(tmp_path):
    ann = tmp_path / 'instances_val.json'
    ann.write_text(json.dumps(dict(images=[
        dict(id=1, file_name='a.png', size_group='small'),
        dict(id=2, file_name='b.png', size_group='large')])))
    metric = LevelSelectionMetric(level_names=NAMES, group_file=str(ann))
    metric.process(None, [dict(img_id=1, level_selection=[1, 1, 1, 0], used_cost=0.9),
                          dict(img_id=2, level_selection=[0, 1, 1, 1], used_cost=0.3)])
    out = metric.compute_metrics(metric.results)
    assert out['rate_P2/small'] == 1.0 and out['rate_P2/large'] == 0.0
    assert out['group_mi'] == pytest.approx(1.0) and out['distinct_subsets'] == 2


def test_metric_reads_a_split_mapping_by_path(tmp_path):
    groups = tmp_path / 'size_groups.json'
    groups.write_text(json.dumps(dict(val={'circle/val_0001.png': 'small',
                                           'val_0002': 'large'})))
    metric = LevelSelectionMetric(level_names=NAMES, group_file=str(groups), split='val')
    metric.process(None, [
        dict(img_path='/data/val/circle/val_0001.png', level_selection=[1, 1, 1, 1],
             used_cost=1.0),
        dict(img_path='/data/images/validation/val_0002.jpg', level_selection=[1, 1, 1, 1],
             used_cost=1.0)])
    assert [r['group'] for r in metric.results] == ['small', 'large']


@pytest.mark.bad_input
def test_bad_group_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='group_file'):
        LevelSelectionMetric(group_file=str(tmp_path / 'missing.json'))
    ann = tmp_path / 'plain_coco.json'
    ann.write_text(json.dumps(dict(images=[dict(id=1, file_name='a.png')])))
    with pytest.raises(KeyError, match='group_key'):
        LevelSelectionMetric(group_file=str(ann))
