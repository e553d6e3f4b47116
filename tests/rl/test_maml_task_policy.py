"""MAMLTrainer with task policies (each task's own level costs) and an external outer
optimiser: what the meta-training loop over real distillation tasks relies on."""
import copy

import pytest
import torch
from torch import nn

from rlpkd.rl.meta_learning import MAMLTrainer
from rlpkd.rl.policy import PolicyNetwork

STATE, LEVELS = 8, 3


def policy_with_costs(costs) -> PolicyNetwork:
    torch.manual_seed(0)  # the same parameters for every call
    return PolicyNetwork(state_dim=STATE, hidden_dim=16, num_layers=LEVELS,
                         level_costs=costs)


def rollout(policy: PolicyNetwork, seed: int, batch: int = 6) -> dict:
    gen = torch.Generator().manual_seed(seed)
    states = torch.rand(batch, STATE, generator=gen)
    with torch.no_grad():
        actions, log_probs, values = policy.select_action(states)
    data = dict(states=states, actions=actions, rewards=torch.randn(batch, generator=gen),
                values=values, log_probs=log_probs, dones=torch.ones(batch))
    return {k: v[None] for k, v in data.items()}


def params(module: nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_task_policy_supplies_its_level_costs():
    meta = policy_with_costs([1.0, 1.0, 1.0])
    task = policy_with_costs([0.8, 0.1, 0.1])     # same parameters, other costs
    reference = policy_with_costs([0.8, 0.1, 0.1])  # a meta-policy with the task's costs
    support, query = rollout(meta, 0), rollout(meta, 1)
    trainer = MAMLTrainer(meta, inner_lr=0.5, outer_lr=1e-2, num_inner_steps=2)
    ref_trainer = MAMLTrainer(reference, inner_lr=0.5, outer_lr=1e-2, num_inner_steps=2)

    adapted = trainer.fast_adapt(support, policy=task)
    assert same(params(adapted), params(ref_trainer.fast_adapt(support)))
    # the costs matter: with the meta-policy's own costs the adaptation differs
    assert not same(params(adapted), params(trainer.fast_adapt(support)))
    assert torch.equal(adapted.level_costs, task.level_costs)

    trainer.meta_update([dict(support=support, query=query, policy=task)])
    ref_trainer.meta_update([dict(support=support, query=query)])
    assert same(params(meta), params(reference))
    assert torch.equal(meta.level_costs, torch.full((LEVELS,), 1 / 3))


def test_external_outer_optimizer():
    meta = policy_with_costs(None)
    optimizer = torch.optim.SGD(meta.parameters(), lr=0.1)
    trainer = MAMLTrainer(meta, num_inner_steps=1, optimizer=optimizer)
    before = params(meta)
    trainer.meta_update([dict(support=rollout(meta, 0), query=rollout(meta, 1))])
    # plain SGD: θ ← θ − 0.1 · meta-gradient (left in .grad by meta_update)
    expected = {k: before[k] - 0.1 * p.grad for k, p in meta.named_parameters()}
    assert same(params(meta), expected)
    assert trainer.state_dict()['optimizer']['param_groups'][0]['lr'] == 0.1


@pytest.mark.bad_input
def test_optimizer_of_other_parameters_rejected():
    meta = policy_with_costs(None)
    other = torch.optim.Adam(nn.Linear(2, 2).parameters())
    with pytest.raises(ValueError, match='must step exactly'):
        MAMLTrainer(meta, optimizer=other)


def test_task_policy_needs_the_ppo_loss():
    meta = policy_with_costs(None)
    trainer = MAMLTrainer(meta, loss_fn=lambda p, data: sum(v.sum() for v in p.values()))
    with pytest.raises(ValueError, match='needs the PPO loss'):
        trainer.task_loss(copy.deepcopy(meta))
