"""PolicyNetwork: the per-sample level-selection policy (sequential and independent)."""
import math

import pytest
import torch

from rlpkd.rl.policy import PolicyNetwork

S, H, L = 12, 32, 4
VARIANTS = [pytest.param(True, id='lstm'), pytest.param(False, id='independent')]


def make_states(n: int, budget: float = 1.0, seed: int = 0, dim: int = S) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    states = torch.randn(n, dim, generator=gen)
    states[:, -1] = budget
    return states


def make_policy(use_lstm: bool = True, seed: int = 0, **kwargs) -> PolicyNetwork:
    torch.manual_seed(seed)
    return PolicyNetwork(state_dim=S, hidden_dim=H, num_layers=L, use_lstm=use_lstm, **kwargs)


def zero_output_layer(policy: PolicyNetwork) -> None:
    with torch.no_grad():
        policy.policy_head.weight.zero_()
        policy.policy_head.bias.zero_()


@pytest.mark.parametrize('use_lstm', VARIANTS)
def test_shapes_and_binary_actions(use_lstm):
    policy = make_policy(use_lstm)
    states = make_states(7)
    assert policy.num_levels == L
    action, log_prob, value = policy.select_action(states)
    assert action.shape == (7, L) and log_prob.shape == (7,) and value.shape == (7,)
    assert action.dtype == states.dtype
    assert set(action.unique().tolist()) <= {0.0, 1.0}
    assert (log_prob <= 0).all()
    probs, value2 = policy(states)
    assert probs.shape == (7, L) and value2.shape == (7,)
    assert ((probs >= 0) & (probs <= 1)).all()
    torch.testing.assert_close(value, value2)
    lp, ent, v = policy.evaluate_actions(states, action)
    assert lp.shape == ent.shape == v.shape == (7,)


def test_default_constructor_matches_prototype():
    policy = PolicyNetwork()
    assert policy.state_dim == 1542 and policy.num_levels == 4 and policy.use_lstm
    torch.testing.assert_close(policy.level_costs, torch.full((4,), 0.25))
    assert 'level_costs' not in policy.state_dict()  # the task's, not learned
    action, _, _ = policy.select_action(torch.rand(3, 1542))
    assert action.shape == (3, 4)


def test_level_costs_normalised_and_validated():
    policy = make_policy(level_costs=[1.0, 2.0, 3.0, 4.0])
    torch.testing.assert_close(policy.level_costs, torch.tensor([0.1, 0.2, 0.3, 0.4]))
    policy.double()
    assert policy.level_costs.dtype == torch.float64  # a buffer follows .to()/.double()
    with pytest.raises(ValueError, match='level_costs'):
        make_policy(level_costs=[1.0, 2.0])
    with pytest.raises(ValueError, match='level_costs'):
        make_policy(level_costs=[1.0, -1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match='use_lstm'):
        make_policy(use_lstm=False, hard_budget=True)
    with pytest.raises(ValueError, match='state'):
        make_policy().select_action(torch.zeros(2, S + 1))


@pytest.mark.parametrize('use_lstm', VARIANTS)
def test_deterministic_is_greedy_and_repeatable(use_lstm):
    policy = make_policy(use_lstm)
    with torch.no_grad():  # spread the logits so greedy decisions are mixed
        policy.policy_head.weight.mul_(300.0)
        policy.policy_head.bias.zero_()  # centred (the default starts at keep-all)
    states = make_states(64)
    a1, lp1, v1 = policy.select_action(states, deterministic=True)
    a2, lp2, v2 = policy.select_action(states, deterministic=True)
    assert torch.equal(a1, a2) and torch.equal(lp1, lp2) and torch.equal(v1, v2)
    assert 0 < a1.mean() < 1  # not trivially all on / all off
    # greedy: each chosen level is the argmax of its probability given the chosen prefix
    probs, _ = policy(states, a1)
    assert torch.equal(a1, (probs >= 0.5).to(a1.dtype))
    probs_greedy, _ = policy(states)  # no actions: conditioned on its own greedy decisions
    torch.testing.assert_close(probs_greedy, probs, rtol=0, atol=0)


@pytest.mark.parametrize('use_lstm', VARIANTS)
@pytest.mark.parametrize('deterministic', [False, True])
def test_select_and_evaluate_log_prob_agree(use_lstm, deterministic):
    policy = make_policy(use_lstm)
    with torch.no_grad():
        policy.policy_head.weight.mul_(100.0)
    states = make_states(50, seed=1)
    torch.manual_seed(3)
    action, log_prob, value = policy.select_action(states, deterministic=deterministic)
    lp, ent, v = policy.evaluate_actions(states, action)
    torch.testing.assert_close(lp, log_prob, rtol=0, atol=1e-6)
    torch.testing.assert_close(v, value, rtol=0, atol=1e-6)
    assert (ent > 0).all()
    # a different action set has a different log-prob (the check above is not vacuous)
    lp_flip, _, _ = policy.evaluate_actions(states, 1 - action)
    assert not torch.allclose(lp_flip, lp)


@pytest.mark.parametrize('use_lstm', VARIANTS)
def test_zero_logits_give_max_entropy(use_lstm):
    policy = make_policy(use_lstm)
    zero_output_layer(policy)
    states = make_states(16)
    actions = torch.randint(0, 2, (16, L)).float()
    log_prob, entropy, _ = policy.evaluate_actions(states, actions)
    torch.testing.assert_close(entropy, torch.full((16,), 4 * math.log(2)))
    torch.testing.assert_close(log_prob, torch.full((16,), -4 * math.log(2)))
    probs, _ = policy(states)
    torch.testing.assert_close(probs, torch.full((16, L), 0.5))


def test_sequential_policy_conditions_on_previous_actions():
    states = make_states(8)
    base = torch.tensor([[0.0, 1.0, 0.0, 1.0]]).repeat(8, 1)
    flipped = base.clone()
    flipped[:, 0] = 1.0
    seq = make_policy(True)
    with torch.no_grad():  # the 0.01-gain init keeps p near 0.5; widen it to see the effect
        seq.policy_head.weight.mul_(100.0)
    p_base, _ = seq(states, base)
    p_flip, _ = seq(states, flipped)
    torch.testing.assert_close(p_flip[:, 0], p_base[:, 0], rtol=0, atol=0)  # causal
    diff = (p_flip[:, 1] - p_base[:, 1]).abs()
    assert (diff > 1e-6).all() and diff.max() > 1e-3
    ind = make_policy(False)
    q_base, _ = ind(states, base)
    q_flip, _ = ind(states, flipped)
    torch.testing.assert_close(q_flip, q_base, rtol=0, atol=0)


def test_sequential_policy_sees_the_budget():
    policy = make_policy(True)
    p_full, _ = policy(make_states(8, budget=1.0))
    p_tight, _ = policy(make_states(8, budget=0.1))
    assert (p_full - p_tight).abs().max() > 1e-6


def hard_budget_policy(bias: float = 5.0) -> PolicyNetwork:
    policy = make_policy(True, hard_budget=True)
    with torch.no_grad():  # strongly prefer selecting: only the budget can stop it
        policy.policy_head.bias.fill_(bias)
    return policy


def test_hard_budget_caps_the_selection():
    policy = hard_budget_policy()
    states = make_states(2000, budget=0.3)
    torch.manual_seed(0)
    with torch.no_grad():
        action, log_prob, _ = policy.select_action(states)
    counts = action.sum(dim=1)
    assert counts.max() == 1 and counts.min() == 1  # wants all; budget allows one
    # levels after the first selection are forced off: probability 0
    probs, _ = policy(states, action)
    first = action.argmax(dim=1)
    after_first = torch.arange(L).unsqueeze(0) > first.unsqueeze(1)
    assert (probs[after_first] == 0).all() and (probs[~after_first] > 0).all()
    lp, _, _ = policy.evaluate_actions(states, action)
    torch.testing.assert_close(lp, log_prob, rtol=0, atol=1e-6)
    # the same policy with budget 0.5 selects exactly two levels
    two, _, _ = policy.select_action(make_states(500, budget=0.5))
    assert (two.sum(dim=1) == 2).all()
    # without the hard budget it would select (almost) everything
    policy.hard_budget = False
    free, _, _ = policy.select_action(states)
    assert free.sum(dim=1).float().mean() > 3.5


def test_hard_budget_forced_off_levels_add_no_log_prob_or_entropy():
    policy = make_policy(True, hard_budget=True)
    zero_output_layer(policy)  # every feasible step: p = 0.5, entropy ln 2, log-prob -ln 2
    states = make_states(400, budget=0.3)
    torch.manual_seed(1)
    action, log_prob, _ = policy.select_action(states)
    # feasible steps: up to and including the first selected level (all L if none selected)
    none = action.sum(dim=1) == 0
    assert none.any() and (~none).any()
    feasible = torch.where(none, torch.full_like(none, L, dtype=torch.long),
                           action.argmax(dim=1) + 1).float()
    lp, ent, _ = policy.evaluate_actions(states, action)
    torch.testing.assert_close(ent, feasible * math.log(2))
    torch.testing.assert_close(lp, -feasible * math.log(2))
    torch.testing.assert_close(log_prob, lp, rtol=0, atol=1e-6)


def test_hard_budget_zero_budget_and_finite_gradients():
    policy = hard_budget_policy(bias=0.0)
    states = make_states(6, budget=0.2)  # below one level's cost: everything forced off
    probs, _ = policy(states)
    assert (probs == 0).all()
    action, log_prob, _ = policy.select_action(states)
    assert (action == 0).all() and (log_prob == 0).all()
    # gradients through masked levels stay finite, even for infeasible teacher actions
    states = torch.cat([make_states(6, budget=0.3), make_states(6, budget=0.2, seed=1)])
    actions = torch.ones(12, L)
    log_prob, entropy, value = policy.evaluate_actions(states, actions)
    assert torch.isfinite(log_prob).all() and torch.isfinite(entropy).all()
    assert (entropy[6:] == 0).all() and (log_prob[6:] == 0).all()
    (log_prob.sum() + entropy.sum() + value.sum()).backward()
    for name, param in policy.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
    assert policy.policy_head.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('use_lstm', VARIANTS)
def test_gradients_reach_the_encoder(use_lstm):
    policy = make_policy(use_lstm)
    states = make_states(10)
    action, _, _ = policy.select_action(states)
    for output in ('log_prob', 'value'):
        policy.zero_grad()
        log_prob, _, value = policy.evaluate_actions(states, action)
        (log_prob if output == 'log_prob' else value).sum().backward()
        for param in policy.encoder.parameters():
            assert param.grad is not None and param.grad.abs().sum() > 0, output


@pytest.mark.parametrize('use_lstm', VARIANTS)
def test_fits_a_state_dependent_pattern(use_lstm):
    """Maximising log-prob of [1,0,1,0] if state[:, 0] > 0 else [0,1,0,1] is learnable."""
    policy = make_policy(use_lstm)
    pattern = torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]])
    optim = torch.optim.Adam(policy.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(0)
    for _ in range(100):
        states = torch.randn(64, S, generator=gen)
        states[:, -1] = 1.0
        target = pattern[(states[:, 0] <= 0).long()]
        log_prob, _, _ = policy.evaluate_actions(states, target)
        optim.zero_grad()
        (-log_prob.mean()).backward()
        optim.step()
    states = make_states(1000, seed=123)
    target = pattern[(states[:, 0] <= 0).long()]
    with torch.no_grad():
        action, _, _ = policy.select_action(states, deterministic=True)
    accuracy = (action == target).all(dim=1).float().mean()
    assert accuracy > 0.95


def test_follows_state_dtype():
    policy = make_policy(True, hard_budget=True).double()
    states = make_states(5, budget=0.6).double()
    action, log_prob, value = policy.select_action(states)
    assert action.dtype == log_prob.dtype == value.dtype == torch.float64
    lp, ent, _ = policy.evaluate_actions(states, action)
    assert lp.dtype == ent.dtype == torch.float64
    torch.testing.assert_close(lp, log_prob, rtol=0, atol=1e-12)


@pytest.mark.parametrize('use_lstm', [True, False])
def test_untrained_greedy_policy_keeps_every_level(use_lstm):
    """It starts as uniform KD and learns what to drop (default init_keep_prob 0.75)."""
    torch.manual_seed(0)
    policy = PolicyNetwork(state_dim=S, hidden_dim=H, num_layers=L, use_lstm=use_lstm)
    action, _, _ = policy.select_action(torch.randn(64, S), deterministic=True)
    assert torch.all(action == 1)
    probs, _ = policy(torch.randn(64, S))
    assert torch.allclose(probs, torch.full_like(probs, 0.75), atol=0.05)
    coin = PolicyNetwork(state_dim=S, hidden_dim=H, num_layers=L, use_lstm=use_lstm,
                         init_keep_prob=0.5)
    assert torch.allclose(coin(torch.randn(8, S))[0], torch.full((8, L), 0.5), atol=0.05)
    with pytest.raises(ValueError, match='init_keep_prob'):
        PolicyNetwork(state_dim=S, init_keep_prob=1.0)


@pytest.mark.parametrize('use_lstm', [True, False])
def test_exploration_bound_keeps_every_choice_possible(use_lstm):
    """explore=ε bounds every decision's probability to [ε, 1 − ε] however saturated
    the logits, with log-probs and entropy of that distribution; greedy is unchanged."""
    torch.manual_seed(0)
    plain = PolicyNetwork(state_dim=10, hidden_dim=16, num_layers=3, use_lstm=use_lstm,
                          init_keep_prob=1 - 1e-6)
    bounded = PolicyNetwork(state_dim=10, hidden_dim=16, num_layers=3, use_lstm=use_lstm,
                            init_keep_prob=1 - 1e-6, explore=0.1)
    bounded.load_state_dict(plain.state_dict())
    states = torch.randn(2000, 10)
    probs, _ = bounded(states)
    assert probs.min() >= 0.1 - 1e-6 and probs.max() <= 0.9 + 1e-6
    actions, log_prob, _ = bounded.select_action(states)
    assert 0.05 < 1 - actions.mean() < 0.15  # ~10 % of the decisions drop a level
    new_log_prob, entropy, _ = bounded.evaluate_actions(states, actions)
    torch.testing.assert_close(new_log_prob, log_prob)
    expected = (actions * 0.9 + (1 - actions) * 0.1).log().sum(dim=1)
    torch.testing.assert_close(log_prob, expected, atol=1e-4, rtol=1e-4)
    assert torch.equal(bounded.select_action(states, deterministic=True)[0],
                       plain.select_action(states, deterministic=True)[0])
    with pytest.raises(ValueError, match='explore'):
        PolicyNetwork(state_dim=10, explore=0.5)
