"""GAE against a hand-worked example and stable-baselines3's RolloutBuffer."""
import numpy as np
import pytest
import torch

from rlpkd.rl.gae import compute_gae, explained_variance


def _hand_example(dones):
    # SB3 episode-start flags [0, 0, 1, 0] -> our dones [0, 1, 0, 0] (+ last-step flag)
    rewards = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    values = torch.ones(4, 1)
    dones = torch.tensor(dones, dtype=torch.float32).unsqueeze(1)
    return compute_gae(rewards, values, dones, torch.tensor([2.0]), gamma=0.5, gae_lambda=0.5)


def test_gae_hand_example_bootstraps_last_step():
    adv, ret = _hand_example([0, 1, 0, 0])
    torch.testing.assert_close(adv[:, 0], torch.tensor([0.75, 1.0, 3.5, 4.0]))
    torch.testing.assert_close(ret[:, 0], torch.tensor([1.75, 2.0, 4.5, 5.0]))


def test_gae_hand_example_terminal_last_step():
    adv, ret = _hand_example([0, 1, 0, 1])
    torch.testing.assert_close(adv[:, 0], torch.tensor([0.75, 1.0, 3.25, 3.0]))
    torch.testing.assert_close(ret[:, 0], torch.tensor([1.75, 2.0, 4.25, 4.0]))


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_gae_matches_stable_baselines3(seed):
    gymnasium = pytest.importorskip('gymnasium')
    buffers = pytest.importorskip('stable_baselines3.common.buffers')
    rng = np.random.default_rng(seed)
    num_steps, num_envs, gamma, lam = 7, 5, 0.9, 0.8
    rewards = rng.normal(size=(num_steps, num_envs)).astype(np.float32)
    values = rng.normal(size=(num_steps, num_envs)).astype(np.float32)
    dones = (rng.random((num_steps, num_envs)) < 0.3).astype(np.float32)
    last_values = rng.normal(size=num_envs).astype(np.float32)

    space = gymnasium.spaces.Box(-1.0, 1.0, shape=(3, ), dtype=np.float32)
    sb3 = buffers.RolloutBuffer(buffer_size=num_steps, observation_space=space,
                                action_space=space, device='cpu', gae_lambda=lam,
                                gamma=gamma, n_envs=num_envs)
    sb3.rewards[:] = rewards
    sb3.values[:] = values
    sb3.episode_starts[:] = 0.0
    sb3.episode_starts[1:] = dones[:-1]          # episode_starts[t + 1] = dones[t]
    sb3.compute_returns_and_advantage(last_values=torch.from_numpy(last_values),
                                      dones=dones[-1])

    adv, ret = compute_gae(torch.from_numpy(rewards), torch.from_numpy(values),
                           torch.from_numpy(dones), torch.from_numpy(last_values), gamma, lam)
    np.testing.assert_allclose(adv.numpy(), sb3.advantages, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ret.numpy(), sb3.returns, rtol=1e-5, atol=1e-5)


def test_gae_lambda_one_no_dones_is_discounted_return():
    rewards = torch.tensor([[1.0], [1.0], [1.0]])
    values = torch.tensor([[0.5], [-1.0], [3.0]])
    _, ret = compute_gae(rewards, values, torch.zeros(3, 1), torch.tensor([10.0]), 0.5, 1.0)
    # Monte-Carlo with bootstrap: R_0 = 1 + .5 + .25 + .125 * 10
    torch.testing.assert_close(ret[:, 0], torch.tensor([3.0, 4.0, 6.0]))


@pytest.mark.bad_input
def test_gae_rejects_bad_shapes():
    with pytest.raises(ValueError):
        compute_gae(torch.zeros(3, 2), torch.zeros(3, 2), torch.zeros(3, 2), torch.zeros(3),
                    0.9, 0.9)
    with pytest.raises(ValueError):
        compute_gae(torch.zeros(3, 2), torch.zeros(3), torch.zeros(3, 2), torch.zeros(2),
                    0.9, 0.9)


def test_explained_variance():
    target = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert float(explained_variance(target, target)) == 1.0
    assert float(explained_variance(torch.full((4, ), 2.5), target)) == pytest.approx(0.0)
    # Var[target - pred] = Var[[1, 2, 3, 4] - 0] ... pred = -target doubles the residual
    assert float(explained_variance(-target, target)) == pytest.approx(1 - 4.0)
    assert torch.isnan(explained_variance(target, torch.ones(4)))
