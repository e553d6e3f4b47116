"""A selector that decides before the teacher runs: the teacher skips unselected samples."""
import pytest
import torch

from rlpkd.testing import build_from_config, det_batch

CONFIG = 'rlpkd::faster_rcnn/rlpkd_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'


def distiller_keeping(prob: float, state_gap: str = 'none'):
    """The toy RL distiller whose untrained greedy policy keeps each level with ``prob``
    (below 0.5: none; above: all), and a list of the teacher's forward batch sizes."""
    torch.manual_seed(0)
    distiller = build_from_config(CONFIG, selector=dict(
        state_gap=state_gap, policy=dict(init_keep_prob=prob)))
    distiller.train()
    distiller.selector.set_mode('greedy')
    sizes = []
    distiller.teacher.backbone.register_forward_hook(
        lambda module, args, out: sizes.append(args[0].shape[0]))
    return distiller, sizes


def test_empty_selections_skip_the_teacher():
    distiller, sizes = distiller_keeping(1e-4)
    losses = distiller(**det_batch(distiller, num_images=3), mode='loss')
    assert sizes == []  # no level kept anywhere: the teacher never ran
    assert float(losses['teacher_rate']) == 0.0
    assert float(losses['loss_distill']) == 0.0
    assert all(float(losses[f'select_P{i}']) == 0.0 for i in range(2, 6))
    # the task losses still train the student
    sum(v for k, v in losses.items() if k.startswith('loss_') and k != 'loss_distill'
        and isinstance(v, torch.Tensor)).backward()


def test_recorded_samples_get_their_teacher_and_are_scored():
    distiller, sizes = distiller_keeping(1e-4)
    distiller.selector.request_experience(num_samples=1)
    losses = distiller(**det_batch(distiller, num_images=3), mode='loss')
    assert sizes == [1]  # only the recorded sample, to score its (empty) choice
    assert float(losses['teacher_rate']) == pytest.approx(1 / 3)
    experience = distiller.selector.collect_experience()
    assert len(experience) == 1 and torch.isfinite(experience.rewards).all()


def test_full_selection_matches_the_teacher_first_path():
    """All levels kept: the same distillation loss as when the teacher runs first."""
    values = {}
    for state_gap in ('none', 'teacher'):
        distiller, sizes = distiller_keeping(1 - 1e-4, state_gap)
        losses = distiller(**det_batch(distiller, num_images=2), mode='loss')
        assert sizes == [2]
        values[state_gap] = losses['loss_distill']
    torch.testing.assert_close(values['none'], values['teacher'])


def test_predictions_need_no_teacher():
    distiller, sizes = distiller_keeping(0.9)
    distiller.eval()
    results = distiller(**det_batch(distiller, num_images=2), mode='predict')
    assert sizes == [] and all(r.level_selection == [1, 1, 1, 1] for r in results)


@pytest.mark.bad_input
def test_bad_state_gap_names_the_key():
    with pytest.raises(ValueError, match=r'model\.selector\.state_gap'):
        build_from_config(CONFIG, selector=dict(state_gap='previous'))
