"""The synthetic problem's references are exact, and PPO learns on it."""

import pytest
import torch

from rlpkd.benchmarking.contextual import ContextualSelectionEnv, train_ppo
from rlpkd.benchmarking.task_family import ContextualTaskFamily


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


def test_task_family_draws_distinct_reproducible_tasks():
    family = ContextualTaskFamily(seed=0)
    usefulness, costs = family.task_parameters(3)
    assert usefulness.shape == (4, 4) and costs.shape == (4,)
    torch.testing.assert_close(usefulness.sum(dim=1), torch.ones(4))
    assert costs.sum().item() == pytest.approx(1.0)
    assert ((usefulness > 0).sum(dim=1) <= family.max_useful_levels).all()
    again = ContextualTaskFamily(seed=0).task_parameters(3)
    assert torch.equal(again[0], usefulness) and torch.equal(again[1], costs)
    # the family seed changes the tasks too (torch's CPU generator keeps only 32 bits of
    # a seed, so a naive (seed << 32) + task_id would not)
    assert not torch.equal(ContextualTaskFamily(seed=1).task_parameters(3)[0], usefulness)


def test_task_family_optima_depend_on_the_task_not_the_state():
    family = ContextualTaskFamily(seed=0)
    types, budget = torch.arange(4), torch.ones(4)
    optima = set()
    for task_id in range(8):
        env = family.sample_task(task_id)
        assert env.embedding is family.embedding     # one state space for all tasks
        optima.add(tuple(map(tuple, env.oracle(types, budget)[1].tolist())))
    assert len(optima) == 8                           # every task has its own optimum
    with pytest.raises(ValueError, match='embedding has 4 rows'):
        ContextualSelectionEnv(usefulness=[[1.0, 0, 0, 0]] * 2, embedding=family.embedding)
