"""LevelCreditLearner: per-level counterfactual credit, on the real toy RL selector."""
import copy

import pytest
import torch
from mmengine.config import Config

from rlpkd.learners import LevelCreditExperience, LevelCreditLearner, PPOLearner
from rlpkd.models.utils import config_file
from rlpkd.testing import build_from_config, det_batch

CONFIG = 'rlpkd::faster_rcnn/rlpkd-levelcredit_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'
PPO_CONFIG = 'rlpkd::faster_rcnn/rlpkd_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'


@pytest.fixture(scope='module')
def distiller():
    torch.manual_seed(0)
    return build_from_config(CONFIG).train()


def test_collected_experience_holds_every_levels_flip(distiller):
    selector = distiller.selector
    selector.request_experience(3)
    distiller(**det_batch(distiller, num_images=4), mode='loss')
    record = selector.collect_experience()
    assert isinstance(record, LevelCreditExperience) and len(record) == 3
    assert record.flip_rewards.shape == (3, 4) and torch.isfinite(record.flip_rewards).all()
    assert record.states.shape == (3, 9)
    learner = LevelCreditLearner(selector)
    before = copy.deepcopy(selector.learnable().state_dict())
    learner.add(record)
    stats = learner.update()
    for key in ('reward', 'credit', 'agreement', 'loss', 'select_P5'):
        assert f'rl/{key}' in stats
    after = selector.learnable().state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert not any(p.requires_grad for p in selector.learnable().parameters())


def bandit(states, actions, layout):
    """The known optimum: keep level l unless its discrepancy entry is above 1.5; reward
    = fraction of levels that match it; returns (answer, reward [N], flips [N, L])."""
    answer = (layout.read(states, 'discrepancy') <= 1.5).float()

    def reward(a):
        return (a == answer).float().mean(dim=1)
    flips = torch.stack([reward(torch.where(torch.arange(4) == level, 1 - actions, actions))
                         for level in range(4)], dim=1)
    return answer, reward(actions), flips


def signal_states(layout, num, gen):
    """``[num, S]`` states as a corrupted teacher level gives them: discrepancy N(0, 0.5²)
    per level, + 3 on one random level of two samples in three (no budget)."""
    states = torch.zeros(num, layout.dim)
    discrepancy = 0.5 * torch.randn(num, 4, generator=gen)
    corrupted = torch.randint(0, 6, (num, ), generator=gen)
    rows = (corrupted < 4).nonzero().squeeze(1)
    discrepancy[rows, corrupted[rows]] += 3.0
    states[:, layout['discrepancy']] = discrepancy
    if 'reliability' in layout.names():
        states[:, layout['reliability']] = torch.randn(num, 1, generator=gen)
    states[:, layout['budget']] = 1.0
    return states


def test_learns_a_per_sample_bandit_optimum_within_20_updates():
    """On the signal fields alone, 16 samples per update (the toy config's 4 per step x
    update_interval 4): the greedy policy matches the optimum on >= 90 % of new states
    after 20 updates (320 scored samples; the untrained policy keeps every level, which
    matches 1/3)."""
    torch.manual_seed(0)
    cfg = Config.fromfile(config_file(CONFIG))
    selector = build_from_config(CONFIG, selector=dict(
        cfg.model.selector, state_fields=('discrepancy', 'reliability'))).selector
    learner = LevelCreditLearner(selector)
    policy, layout = selector.learnable(), selector.env.layout
    gen = torch.Generator().manual_seed(0)
    val = signal_states(layout, 400, gen)
    for _ in range(20):
        states = signal_states(layout, 16, gen)
        with torch.no_grad():
            actions, log_probs, values = policy.select_action(states)
        _, rewards, flips = bandit(states, actions, layout)
        learner.add(LevelCreditExperience(
            states=states, actions=actions, log_probs=log_probs, values=values,
            rewards=rewards, improvement=rewards, used_cost=actions.mean(dim=1),
            baselines=values, baseline_cost=torch.zeros(16), flip_rewards=flips))
        learner.update()
    with torch.no_grad():
        greedy = policy.select_action(val, deterministic=True)[0]
    answer = bandit(val, greedy, layout)[0]
    assert (greedy == answer).all(dim=1).float().mean() >= 0.9


def test_a_selector_without_level_credit_is_refused_at_build():
    selector = build_from_config(PPO_CONFIG).selector
    with pytest.raises(TypeError, match='LevelCreditExperience'):
        LevelCreditLearner(selector)
    PPOLearner(selector)  # its own learner is fine


def test_optimiser_state_round_trips(distiller):
    learner = LevelCreditLearner(distiller.selector)
    layout = distiller.selector.env.layout
    states = signal_states(layout, 4, torch.Generator().manual_seed(0))
    actions = torch.ones(4, 4)
    _, rewards, flips = bandit(states, actions, layout)
    learner.add(LevelCreditExperience(
        states=states, actions=actions, log_probs=torch.zeros(4), values=torch.zeros(4),
        rewards=rewards, improvement=rewards, used_cost=torch.ones(4),
        baselines=torch.zeros(4), baseline_cost=torch.zeros(4), flip_rewards=flips))
    learner.update()
    other = LevelCreditLearner(distiller.selector, lr=0.5)
    other.load_state_dict(learner.state_dict())
    assert other.optimizer.state_dict()['state'].keys() == \
        learner.optimizer.state_dict()['state'].keys()
    assert other.optimizer.param_groups[0]['lr'] == 1e-3
