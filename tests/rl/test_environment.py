"""The level-selection MDP on the real toy Faster R-CNN teacher / student."""
import pytest
import torch

from rlpkd.compat import DistillationEnvironment
from rlpkd.rl.environment import ParallelDistillationEnv
from rlpkd.rl.reward import tree_detach
from rlpkd.testing import build_distiller


@pytest.fixture(scope='module')
def env():
    torch.manual_seed(0)
    distiller = build_distiller()
    distiller.eval()  # BN statistics per sample, so batched == one by one
    return ParallelDistillationEnv(distiller, lambda_tradeoff=0.5, lookahead_lr=0.05)


@pytest.fixture(scope='module')
def images():
    return torch.randn(3, 3, 64, 96, generator=torch.Generator().manual_seed(1))


def test_state_layout(env, images):
    states = env.reset(images)
    # global 512 + 4 levels x 256 (the FPN's 64 channels projected) + gap + mask 4 + budget
    assert env.state_dim == 512 + 4 * 256 + 1 + 4 + 1 == 1542
    assert states.shape == (3, env.state_dim)
    fields = env.layout.split(states)
    assert torch.all(fields['budget'] == 1.0)          # unconstrained budget
    assert torch.all(fields['selected'] == 0)          # selected-so-far mask
    assert fields['levels'].shape == (3, 1024) and fields['global'].shape == (3, 512)
    assert torch.isfinite(states).all()


def test_costs_follow_resolution(env):
    flops = env.cost_model.flops
    assert (flops[:-1] > flops[1:]).all()           # P2 dearest, P5 cheapest
    assert flops[0] / flops[2] > 10                  # 16x the pixels of P4
    torch.testing.assert_close(env.cost_model.fractions.sum(), torch.tensor(1.0))


def test_rewards_trade_improvement_against_cost(env, images):
    env.reset(images)
    full = torch.ones(3, 4)
    _, reward, done, info = env.step(full)
    torch.testing.assert_close(info['improvement'], torch.ones(3))   # normalised by itself
    torch.testing.assert_close(info['saved_cost'], torch.zeros(3))
    torch.testing.assert_close(reward, torch.ones(3))
    assert done.all()
    env.reset(images)
    _, reward, _, info = env.step(torch.zeros(3, 4))
    torch.testing.assert_close(info['improvement'], torch.zeros(3), atol=1e-6, rtol=0)
    torch.testing.assert_close(reward, torch.full((3,), 0.5))
    env.reset(images)
    _, _, _, info = env.step(torch.tensor([[0, 0, 0, 1.], [1, 0, 0, 0], [0, 1, 1, 0]]))
    assert info['selected_layers'] == [['P5'], ['P2'], ['P3', 'P4']]
    assert info['used_cost'][0] < info['used_cost'][1]
    # a part of the pyramid gives part of the improvement
    assert (info['improvement'] > 0).all() and (info['improvement'] < 1.5).all()


def test_batched_equals_per_sample(env, images):
    actions = torch.tensor([[1, 0, 1, 0], [0, 1, 1, 1], [1, 1, 0, 0.]])
    states = env.reset(images)
    _, rewards, _, info = env.step(actions)
    single = DistillationEnvironment(env.pair, lambda_tradeoff=0.5, lookahead_lr=0.05)
    for b in range(3):
        state = single.reset(images[b])
        torch.testing.assert_close(state, states[b], rtol=1e-4, atol=1e-5)
        _, reward, done, sample_info = single.step(actions[b])
        assert done
        assert reward == pytest.approx(float(rewards[b]), rel=1e-3, abs=1e-5)
        assert sample_info['selected_layers'] == info['selected_layers'][b]
        assert sample_info['used_cost'] == pytest.approx(float(info['used_cost'][b]))


@pytest.mark.parametrize('chunk', [2, 3])
def test_vectorised_lookahead_equals_one_at_a_time(env, images, chunk):
    env.reset(images)
    observation = env._episode['observation']
    args, teacher = observation.inputs, observation.teacher_feats
    mask = torch.tensor([[1, 0, 1, 0], [0, 1, 1, 1], [1, 1, 0, 0.]])
    reward = env.reward
    assert reward.lookahead_chunk == 1
    one_at_a_time = reward.lookahead_drops(args, teacher, mask)
    reward.lookahead_chunk = chunk  # torch.func.vmap over chunks of samples
    try:
        vectorised = reward.lookahead_drops(args, teacher, mask)
    finally:
        reward.lookahead_chunk = 1
    assert (one_at_a_time[0] > 0).all()  # a step on every level lowers the gap
    for a, b in zip(one_at_a_time, vectorised):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_lookahead_takes_half_precision_inputs(env, images):
    # under AMP the caught pyramid inputs and teacher features are half precision, the
    # lookahead runs in float32 outside autocast
    env.reset(images)
    observation = env._episode['observation']
    args, teacher = observation.inputs, observation.teacher_feats
    reference = env.reward.lookahead_drops(args, teacher, torch.ones(3, 4))[0]
    half = env.reward.lookahead_drops(tree_detach(args, torch.bfloat16),
                                      [t.bfloat16() for t in teacher], torch.ones(3, 4))[0]
    assert half.dtype == torch.float32
    torch.testing.assert_close(half, reference, rtol=0.05, atol=1e-5)


def test_pooled_gap_takes_half_precision_features(env, images):
    pair = env.pair
    with torch.no_grad():
        student, teacher = pair.extract(images)
    reference = pair.pooled_gap(student, teacher)
    half = pair.pooled_gap([f.half() for f in student], [f.half() for f in teacher])
    assert half.dtype == torch.float32
    torch.testing.assert_close(half, reference, rtol=0.02, atol=1e-5)


@pytest.mark.bad_input
@pytest.mark.parametrize('setting', [dict(lookahead_chunk=0), dict(lookahead_max_drop=0.0)])
def test_bad_lookahead_settings_named(env, setting):
    with pytest.raises(ValueError, match=rf'model\.selector\.{next(iter(setting))}'):
        ParallelDistillationEnv(env.pair, **setting)


def test_budget_penalty(images):
    torch.manual_seed(0)
    distiller = build_distiller()
    distiller.eval()
    env = ParallelDistillationEnv(distiller, lambda_tradeoff=0.0, budget=0.1,
                                  over_budget_penalty=2.0)
    states = env.reset(images)
    assert torch.allclose(env.layout.read(states, 'budget')[:, 0], torch.full((3,), 0.1))
    _, reward, _, info = env.step(torch.ones(3, 4))
    torch.testing.assert_close(reward, 1.0 - 2.0 * (1.0 - 0.1) * torch.ones(3))


def test_environment_leaves_the_student_untouched(env, images):
    modules = (env.pair.student, *env.pair.connectors.values())
    before = [{k: v.clone() for k, v in m.state_dict().items()} for m in modules]
    env.reset(images)
    env.step(torch.ones(3, 4))
    for module, saved in zip(modules, before):
        after = module.state_dict()
        assert all(torch.equal(saved[k], after[k]) for k in saved)


def test_steps_after_done_are_new_episodes_on_the_same_samples(env, images):
    states = env.reset(images)
    action = torch.tensor([[1, 0, 1, 0], [0, 1, 1, 1], [1, 1, 0, 0.]])
    first, reward, done, _ = env.step(action)
    again, reward2, done2, _ = env.step(action)
    assert done.all() and done2.all()
    assert torch.equal(first, states) and torch.equal(again, states)
    torch.testing.assert_close(reward, reward2)


@pytest.mark.bad_input
def test_step_names_a_select_action_tuple(env, images):
    env.reset(images)
    with pytest.raises(TypeError, match='pass its first element'):
        env.step((torch.ones(3, 4), torch.zeros(3), torch.zeros(3)))
    with pytest.raises(ValueError, match=r'action must be \[3, 4\]'):
        env.step(torch.ones(3, 5))


def test_reset_leaves_a_training_student_untouched(images):
    torch.manual_seed(0)
    distiller = build_distiller()
    distiller.train()  # BN layers in training mode: a forward would move running stats
    env = ParallelDistillationEnv(distiller)
    before = {k: v.clone() for k, v in distiller.state_dict().items()}
    env.reset(images)
    assert distiller.student.training  # modes restored
    after = distiller.state_dict()
    assert [k for k in before if not torch.equal(before[k], after[k])] == []
