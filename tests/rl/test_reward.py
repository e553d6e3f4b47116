"""LookaheadReward on a partly trained student: the capped step does not overshoot."""
import math

import pytest
import torch

from rlpkd.testing import build_from_config, cls_batch

CONFIG = 'rlpkd::resnet/rlpkd_resnet18w32-resnet18w16_toy-folder.py'


@pytest.fixture(scope='module')
def trained():
    """The toy ResNet distiller after 30 uniform-KD SGD steps on one batch, and the
    selector's record of a sampled selection on that batch."""
    torch.manual_seed(0)
    distiller = build_from_config(CONFIG)
    distiller.train()
    selector = distiller.selector
    selector.set_mode('uniform')
    batch = cls_batch(distiller, num_images=8, size=(64, 64))
    params = [p for p in distiller.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=0.02, momentum=0.9)
    for _ in range(30):
        losses = distiller(**batch, mode='loss')
        optimizer.zero_grad()
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        optimizer.step()
    selector.set_mode('sample')
    selector.request_experience()
    distiller(**batch, mode='loss')
    return distiller, selector.pending


def test_fixed_step_overshoots_capped_step_does_not(trained):
    distiller, pending = trained
    reward = distiller.selector.env.reward
    args, teacher = pending['observation'].inputs, pending['observation'].teacher_feats
    ones = torch.ones(8, 4)
    reward.lookahead_max_drop = math.inf  # the plain fixed step of size lookahead_lr
    try:
        uncapped, _ = reward.lookahead_drops(args, teacher, ones)
    finally:
        reward.lookahead_max_drop = 0.1
    assert (uncapped <= 0).any()  # the gap rose: a fixed step is too long here
    capped, _ = reward.lookahead_drops(args, teacher, ones)
    assert (capped > 0).all()


def test_rewards_stay_bounded(trained):
    distiller, pending = trained
    experience = distiller.selector.collect_experience()
    assert experience is not None
    assert ((experience.improvement >= -1) & (experience.improvement <= 2)).all()
    assert experience.rewards.abs().max() < 10
    distiller.selector.pending = pending  # the fixture is shared: leave it as it was


def test_activation_checkpointing_student_scores_like_a_plain_one():
    """with_cp blocks cannot run under torch.func: the lookahead runs them plainly."""
    from mmengine.config import Config

    from rlpkd.models.utils import config_file
    student = Config.fromfile(config_file(CONFIG)).model.student
    rewards = []
    for with_cp in (False, True):
        torch.manual_seed(0)
        distiller = build_from_config(
            CONFIG, student=dict(student, override=dict(backbone=dict(with_cp=with_cp))))
        distiller.train()
        distiller.selector.request_experience()
        distiller(**cls_batch(distiller, num_images=2), mode='loss')
        rewards.append(distiller.selector.collect_experience().rewards)
        assert all(m.with_cp == with_cp for m in distiller.student.backbone.modules()
                   if hasattr(m, 'with_cp'))  # restored after the lookahead
    torch.testing.assert_close(rewards[0], rewards[1])
