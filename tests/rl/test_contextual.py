"""The synthetic problem's references are exact, and PPO learns on it."""

import pytest
import torch

from rlpkd.rl.contextual import ContextualSelectionEnv, train_ppo


def test_hand_computed_optimum():
    env = ContextualSelectionEnv()
    # type 1 = "large objects": P4 (0.3) + P5 (0.7) give the full improvement for 5/85 cost
    best, subset = env.oracle(torch.tensor([1]), torch.tensor([1.0]))
    assert subset.tolist() == [[0, 0, 1, 1]]
    assert best.item() == pytest.approx(1 + 0.5 * (1 - 5 / 85))


def test_budget_penalty_and_references():
    env = ContextualSelectionEnv(budgets=(0.1,))
    reward, improvement = env.rewards(torch.tensor([0]), torch.tensor([0.1]),
                                      torch.tensor([[1.0, 0, 0, 0]]))
    used = 64 / 85
    assert improvement.item() == pytest.approx(0.8)
    assert reward.item() == pytest.approx(0.8 + 0.5 * (1 - used) - 2.0 * (used - 0.1))
    _, types, budget = env.sample(512, torch.Generator().manual_seed(0))
    ref = env.references(types, budget)
    assert ref['random'] < ref['best_fixed'] < ref['oracle']


def test_short_ppo_run_beats_random_and_fixed_subsets():
    torch.set_num_threads(1)
    env = ContextualSelectionEnv(seed=0)
    result = train_ppo('sequential', env, use_lstm=True, hard_budget=False, iterations=20,
                       steps=2, batch=128, seed=0)
    ref = result['references']
    assert result['final_reward'] > ref['random'] + 0.3
    assert result['final_reward'] > ref['best_fixed']
