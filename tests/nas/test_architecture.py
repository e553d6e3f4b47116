"""α, the GDAS sample and temperature, the derived subset, the architecture learner,
the held-out split."""
import copy

import pytest
import torch

from rlpkd.learners import ArchitectureExperience, ArchitectureLearner
from rlpkd.models.selectors import DARTSSelector, GDASSelector
from rlpkd.nas import (
    HeldOutSplitSampler,
    derive_subset,
    gumbel_noise,
    linear_temperature,
    split_indices,
    straight_through_sample,
)

NAMES = ('P2', 'P3', 'P4', 'P5')
COSTS = (0.75, 0.19, 0.05, 0.01)


def test_hard_gumbel_sample_is_one_hot_with_straight_through_gradient():
    torch.manual_seed(0)
    alpha = torch.randn(4, 2, requires_grad=True)
    noise, tau = gumbel_noise((4, 2)), 0.7
    sample = straight_through_sample(alpha, noise, tau)
    assert set(sample.detach().flatten().tolist()) <= {0.0, 1.0}  # exactly hard
    assert torch.equal(sample.detach().sum(dim=1), torch.ones(4))  # one option per level
    assert torch.equal(sample.detach().argmax(dim=1), (alpha + noise).argmax(dim=1))
    weights = torch.arange(8.0).view(4, 2)
    (grad,) = torch.autograd.grad((sample * weights).sum(), alpha)
    soft = alpha.detach().requires_grad_(True)
    (expected,) = torch.autograd.grad(
        (torch.softmax((soft + noise) / tau, dim=-1) * weights).sum(), soft)
    torch.testing.assert_close(grad, expected)  # the relaxed sample's gradient
    assert (grad != 0).all()


def test_gdas_uses_a_level_with_probability_softmax_alpha():
    """Gumbel-max: P(use) = softmax(α_l)[use], whatever τ; samples are hard {0, 1}."""
    torch.manual_seed(0)
    selector = GDASSelector.for_levels(NAMES, COSTS)
    selector.architecture.alpha.data = torch.tensor([[0., 2.], [0., -1.], [1., 1.], [0., 0.]])
    selector.set_search_state(0.9)
    draws = torch.stack([selector.search_weights()[0] for _ in range(4000)])
    assert set(draws.unique().tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(draws.mean(dim=0), selector.use_probability(),
                               atol=0.03, rtol=0)


def test_temperature_anneals_linearly_from_10_to_0_1():
    assert linear_temperature(0.0) == 10.0
    assert linear_temperature(1.0) == pytest.approx(0.1)
    assert linear_temperature(0.5) == pytest.approx(5.05)
    assert linear_temperature(2.0) == pytest.approx(0.1)  # clamped after the search
    selector = GDASSelector.for_levels(NAMES, COSTS)
    taus = []
    for progress in (0.0, 0.25, 0.5, 0.75, 1.0):
        selector.set_search_state(progress)
        taus.append(selector.temperature)
        assert selector.search_weights()[1]['tau'] == taus[-1]  # the sample records τ
    assert taus[0] == 10.0 and taus[-1] == pytest.approx(0.1)
    assert all(a - b == pytest.approx(2.475) for a, b in zip(taus, taus[1:]))


def test_derived_subset_ranks_under_the_budget():
    p = torch.tensor([0.9, 0.8, 0.7, 0.6])
    costs = torch.tensor(COSTS)
    assert derive_subset(p, costs, budget=0.25) == [1, 2, 3]  # P2 ranks first, does not fit
    assert derive_subset(p, costs, budget=1.0) == [0, 1, 2, 3]
    assert derive_subset(p, costs, budget=1.0, max_levels=2) == [0, 1]
    assert derive_subset(torch.tensor([0.1, 0.2, 0.9, 0.3]), costs, 0.06, 1) == [2]
    with pytest.raises(ValueError, match='no level fits'):
        derive_subset(p, costs, budget=0.005)
    with pytest.raises(ValueError, match=r'model\.selector\.budget'):  # at build time
        DARTSSelector.for_levels(NAMES, COSTS, budget=0.005)
    gen = torch.Generator().manual_seed(0)
    for _ in range(200):
        p, costs = torch.rand(5, generator=gen), torch.rand(5, generator=gen)
        costs, budget = costs / costs.sum(), float(torch.rand(1, generator=gen))
        if budget < costs.min():
            continue
        kept = derive_subset(p, costs, budget, max_levels=3)
        assert float(costs[kept].sum()) <= budget + 1e-6 and 1 <= len(kept) <= 3
        for i in set(range(5)) - set(kept):  # a dropped level did not fit at its turn
            before = [j for j in kept if p[j] > p[i] or (p[j] == p[i] and j < i)]
            assert len(before) == 3 or float(costs[before].sum() + costs[i]) > budget - 1e-6


def experience(hyper) -> ArchitectureExperience:
    hyper = torch.as_tensor(hyper, dtype=torch.float32).view(1, 4, 2)
    return ArchitectureExperience(hypergradient=hyper, val_loss=torch.ones(1),
                                  weights=torch.full((1, 4), 0.5))


def test_learner_follows_the_hypergradient_and_prices_cost():
    torch.manual_seed(0)
    selector = DARTSSelector.for_levels(NAMES, COSTS, init_std=0.0)
    learner = ArchitectureLearner(selector, lr=0.01, cost_weight=0.0)
    helps_p4 = torch.zeros(4, 2)
    helps_p4[2] = torch.tensor([1.0, -1.0])  # raising α_use of P4 lowers L_val
    learner.add(experience(helps_p4))
    stats = learner.update()
    p = selector.use_probability()
    assert p[2] > 0.5 and torch.allclose(p[[0, 1, 3]], torch.full((3,), 0.5))
    assert stats['nas/p_use_P4'] == pytest.approx(float(p[2]))
    assert not selector.architecture.alpha.requires_grad  # frozen for the student
    # the cost regulariser alone lowers p(use) of every level, the costly one most
    # after a few steps (Adam's first step is sign-like)
    selector = DARTSSelector.for_levels(NAMES, COSTS, init_std=0.0)
    learner = ArchitectureLearner(selector, lr=0.01, weight_decay=0.0, cost_weight=1.0)
    for _ in range(5):
        learner.add(experience(torch.zeros(4, 2)))
        stats = learner.update()
    assert (selector.use_probability() < 0.5).all()
    assert stats['nas/expected_cost'] < 0.5


def test_alpha_and_adam_state_round_trip():
    torch.manual_seed(0)
    selector = GDASSelector.for_levels(NAMES, COSTS)
    learner = ArchitectureLearner(selector)
    gen = torch.Generator().manual_seed(1)
    updates = [torch.randn(4, 2, generator=gen) for _ in range(3)]
    for hyper in updates[:2]:
        learner.add(experience(hyper))
        learner.update()
    learner.add(experience(updates[2]))  # pending, not yet used
    model_state = copy.deepcopy(selector.state_dict())
    learner_state = copy.deepcopy(learner.state_dict())
    assert 'architecture.alpha' in model_state and learner_state['optimizer']['state']
    other = GDASSelector.for_levels(NAMES, COSTS)
    other.load_state_dict(model_state)
    other_learner = ArchitectureLearner(other)
    other_learner.load_state_dict(learner_state)
    assert other_learner.num_pending == 1
    learner.update()
    other_learner.update()
    assert torch.equal(other.architecture.alpha, selector.architecture.alpha)


def test_search_result_is_json_ready():
    import json
    selector = GDASSelector.for_levels(NAMES, COSTS, budget=0.25, max_levels=2)
    selector.architecture.alpha.data = torch.tensor([[0., 3.], [0., 1.], [0., -1.], [0., 2.]])
    result = json.loads(json.dumps(selector.search_result()))
    assert result['method'] == 'GDAS-LS' and result['levels'] == ['P3', 'P5']
    assert result['cost'] == pytest.approx(0.20)
    assert result['p_use']['P2'] > result['p_use']['P5'] > result['p_use']['P3']
    assert len(result['alpha']) == 4 and result['temperature'] == 10.0


def test_held_out_split_is_disjoint_fixed_and_sharded():
    parts = split_indices(20, 0.25, split_seed=3)
    assert len(parts['held_out']) == 5 and len(parts['train']) == 15
    assert sorted(parts['held_out'] + parts['train']) == list(range(20))
    assert parts == split_indices(20, 0.25, split_seed=3)
    assert parts != split_indices(20, 0.25, split_seed=4)
    data = list(range(20))
    train = HeldOutSplitSampler(data, 'train', 0.25, 3, seed=0)
    held = HeldOutSplitSampler(data, 'held_out', 0.25, 3, seed=0)
    assert sorted(train) == parts['train'] and sorted(held) == parts['held_out']
    assert len(train) == 15
    first = list(train)
    train.set_epoch(1)
    assert list(train) != first and sorted(train) == parts['train']  # reshuffled
    with pytest.raises(ValueError, match='part'):
        HeldOutSplitSampler(data, 'val')
