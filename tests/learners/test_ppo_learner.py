"""PPOLearner on the real toy RL selector: experience in, policy update out, resumable."""
import copy

import pytest
import torch

from rlpkd.learners import PolicyExperience, PPOLearner
from rlpkd.learners.experience import Experience
from rlpkd.testing import build_from_config, det_batch

CONFIG = 'rlpkd::faster_rcnn/rlpkd_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'


@pytest.fixture(scope='module')
def recorded():
    """The toy detection RL distiller and two experience records of 2 samples each."""
    torch.manual_seed(0)
    distiller = build_from_config(CONFIG)
    distiller.train()
    records = []
    for seed in (0, 1):
        distiller.selector.request_experience()
        distiller(**det_batch(distiller, seed=seed), mode='loss')
        records.append(distiller.selector.collect_experience())
    return distiller, records


def test_update_changes_the_policy_and_reports(recorded):
    distiller, records = recorded
    selector = distiller.selector
    learner = PPOLearner(selector, lr=1e-3, num_minibatches=2, seed=0)
    before = copy.deepcopy(selector.learnable().state_dict())
    for record in records:
        learner.add(record)
    assert learner.num_pending == 2
    stats = learner.update()
    assert learner.num_pending == 0
    for key in ('reward', 'improvement', 'cost', 'select_P2', 'entropy', 'approx_kl',
                'clip_fraction', 'policy_loss', 'value_loss'):
        assert f'rl/{key}' in stats
    after = selector.learnable().state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    # the update leaves the policy frozen for the student's optimiser
    assert not any(p.requires_grad for p in selector.learnable().parameters())


def test_state_dict_round_trip(recorded):
    distiller, records = recorded
    learner = PPOLearner(distiller.selector, num_minibatches=2, seed=0)
    learner.add(records[0])
    state = learner.state_dict()
    other = PPOLearner(distiller.selector, num_minibatches=2, seed=1)
    other.load_state_dict(state)
    assert other.num_pending == 1
    restored = other.pending[0].as_dict()
    assert all(torch.equal(v, restored[k]) for k, v in records[0].as_dict().items())
    assert torch.equal(other.ppo.generator.get_state(), learner.ppo.generator.get_state())


def test_cost_target_prices_rewards_and_resumes(recorded):
    """With a cost target the update prices cost at μ, then raises μ while the policy
    spends more than the target; μ is part of the learner's state."""
    distiller, records = recorded
    learner = PPOLearner(distiller.selector, cost_target=0.1, multiplier_lr=0.5,
                         num_minibatches=2, seed=0)
    for record in records:
        learner.add(record)
    spent = float(torch.cat([r.used_cost for r in records]).mean())
    stats = learner.update()
    assert stats['rl/cost_multiplier'] == 0.0  # the first update used μ = 0
    assert learner.constraint.multiplier == pytest.approx(0.5 * (spent - 0.1))
    other = PPOLearner(distiller.selector, cost_target=0.1, num_minibatches=2)
    other.load_state_dict(learner.state_dict())
    assert other.constraint.multiplier == learner.constraint.multiplier
    with pytest.raises(KeyError, match=r'train_cfg\.learners\.ppo\.cost_target'):
        other.load_state_dict(PPOLearner(distiller.selector, num_minibatches=2).state_dict())


@pytest.mark.bad_input
def test_rejects_other_experience_and_too_small_updates(recorded):
    distiller, _ = recorded
    learner = PPOLearner(distiller.selector, num_minibatches=4)
    with pytest.raises(TypeError, match='learns from PolicyExperience'):
        learner.add(Experience())
    with pytest.raises(ValueError, match="phase 'x' collects 3 transitions"):
        learner.check_update_size(3, "phase 'x'")
    learner.check_update_size(4, "phase 'x'")


def test_experience_concatenates_in_order(recorded):
    _, records = recorded
    both = PolicyExperience.cat(records)
    assert len(both) == 4
    assert torch.equal(both.rewards, torch.cat([r.rewards for r in records]))
