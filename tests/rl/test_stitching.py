"""The 'stitching' reward signal on the real toy detector (rlpkd/rl/stitching.py)."""
import pytest
import torch

from rlpkd.pyramid.functional import TaskInputs
from rlpkd.rl.stitching import stitched_drops, stitched_levels
from rlpkd.testing import build_distiller, det_batch


@pytest.fixture(scope='module')
def observed():
    """An eval-mode toy distiller, one two-image batch, its student and teacher pyramids."""
    torch.manual_seed(0)
    distiller = build_distiller()
    distiller.eval()
    batch = det_batch(distiller, num_images=2, seed=1)
    with torch.no_grad():
        student, teacher = distiller.pair.extract(batch['inputs'])
    return distiller, TaskInputs(batch['inputs'], batch['data_samples']), student, teacher


def test_stitched_levels_have_the_targets_shape_and_channel_statistics(observed):
    distiller, _, student, teacher = observed
    with torch.no_grad():
        stitched = stitched_levels(distiller.pair, student, teacher)
    for s, t in zip(stitched, teacher):
        assert s.shape == t.shape
        torch.testing.assert_close(s.mean(dim=(2, 3)), t.mean(dim=(2, 3)), atol=1e-4, rtol=0)
        torch.testing.assert_close(s.std(dim=(2, 3), unbiased=False),
                                   t.std(dim=(2, 3), unbiased=False), atol=1e-3, rtol=1e-3)
        assert not torch.allclose(s, t)  # the student's pattern, not the teacher's


def test_drops_are_relative_drops_of_the_teachers_loss_with_the_kept_levels_replaced(observed):
    distiller, task, student, teacher = observed
    pair = distiller.pair
    masks = torch.tensor([[[0, 0, 0, 0], [1, 0, 0, 1.]], [[0, 1, 1, 0], [0, 0, 0, 0.]]])
    drops = stitched_drops(pair, student, teacher, masks, task)               # [2, 3]
    with torch.no_grad():
        stitched = stitched_levels(pair, student, teacher)
        base = pair.teacher_task_loss(task, dict(enumerate(stitched)))
        own = pair.teacher_task_loss(task)          # every level its target: the teacher's own
        first = torch.stack([pair.teacher_task_loss(
            TaskInputs(task.images[i:i + 1], task.data_samples[i:i + 1]),
            {lv: (teacher if masks[i, 0, lv] else stitched)[lv][i:i + 1] for lv in range(4)})[0]
            for i in range(2)])
    torch.testing.assert_close(drops[:, 0], (base - own) / base)
    torch.testing.assert_close(drops[:, 1], (base - first) / base)
    assert drops[0, 1] == 0 and drops[1, 2] == 0                   # nothing replaced
    assert (drops[:, 0] != 0).all() and (base != own).all()


def test_the_substitution_is_undone_after_scoring(observed):
    distiller, task, student, teacher = observed
    before = distiller.pair.teacher_task_loss(task)
    stitched_drops(distiller.pair, student, teacher, torch.zeros(2, 1, 4), task)
    torch.testing.assert_close(distiller.pair.teacher_task_loss(task), before)


def test_the_level_credit_selector_scores_every_flip_with_the_stitching_reward():
    """The end-to-end path of the known-answer runs: an RLSelector with per-level credit,
    the agreement state and the stitching reward records finite rewards and flips,
    each at most 1 (a relative drop of the teacher's loss, λ = 0)."""
    from rlpkd.learners import LevelCreditExperience
    from rlpkd.testing import build_from_config
    torch.manual_seed(0)
    distiller = build_from_config(
        'rlpkd::faster_rcnn/rlpkd-levelcredit_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py',
        selector=dict(reward_signal='stitching', state_fields=('discrepancy', 'agreement'),
                      lambda_tradeoff=0.0)).train()
    assert distiller.selector.env.reward.signal == 'stitching'
    distiller.selector.request_experience(2)
    distiller(**det_batch(distiller, num_images=2), mode='loss')
    record = distiller.selector.collect_experience()
    assert isinstance(record, LevelCreditExperience) and len(record) == 2
    rewards = torch.cat([record.rewards[:, None], record.flip_rewards], dim=1)   # [2, 5]
    assert torch.isfinite(rewards).all() and (rewards <= 1.0).all()
    assert (record.flip_rewards != record.rewards[:, None]).any()
