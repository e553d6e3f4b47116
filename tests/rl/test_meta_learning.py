"""MAML (rlpkd.rl.meta_learning): closed-form meta-gradients, first vs second order,
fast adaptation without side effects, meta-training on the task family, exact resume."""
import copy
import io

import pytest
import torch
from torch import nn

from rlpkd.benchmarking.contextual import evaluate
from rlpkd.benchmarking.task_family import (
    UNSEEN_TASKS,
    ContextualTaskFamily,
    collect,
    inner_loop_update,
    meta_train,
    rounds_to_fraction,
)
from rlpkd.rl.meta_learning import MAMLTrainer, adapted_query_loss, inner_adapt, ppo_rollout_loss
from rlpkd.rl.policy import PolicyNetwork

# f(x) = w x, squared loss, w0 = 0, support (x=1, y=1), query (x=1, y=2), α = 0.1.
# L(w) = (w x − y)², dL/dw = 2 (w x − y) x; one inner step: w' = 0 − 0.1 · 2(0 − 1) = 0.2,
# L_q(w') = (0.2 − 2)² = 3.24, dL_q/dw' = −3.6 (first order), dw'/dw0 = 1 − 0.1 · 2 = 0.8
# -> −2.88 (second order). Two steps: w'' = 0.2 − 0.1 · 2(0.2 − 1) = 0.36,
# dL_q/dw'' = 2(0.36 − 2) = −3.28 (first order), · 0.8² -> −2.0992 (second order).
SUPPORT = (torch.tensor([1.0]), torch.tensor([1.0]))
QUERY = (torch.tensor([1.0]), torch.tensor([2.0]))
CLOSED_FORM = [  # steps, adapted w, query loss, second-order, first-order meta-gradient
    (1, 0.2, 3.24, -2.88, -3.6),
    (2, 0.36, (0.36 - 2) ** 2, -2.0992, -3.28),
]


def squared_loss(params, data):
    x, y = data
    return (params['weight'].reshape(()) * x - y).pow(2).sum()


@pytest.mark.parametrize('steps, adapted_w, query_loss, grad2, grad1', CLOSED_FORM)
def test_closed_form_inner_loop_and_meta_gradients(steps, adapted_w, query_loss, grad2,
                                                   grad1):
    w0 = torch.zeros((), requires_grad=True)
    adapted, inner_losses = inner_adapt(squared_loss, {'weight': w0}, SUPPORT, 0.1, steps,
                                        create_graph=True)
    assert adapted['weight'].item() == pytest.approx(adapted_w)
    assert inner_losses[0] == pytest.approx(1.0)               # (0 − 1)² before any step
    for first_order, expected in ((False, grad2), (True, grad1)):
        loss, _ = adapted_query_loss(squared_loss, {'weight': w0}, SUPPORT, QUERY, 0.1,
                                     steps, first_order)
        (meta_grad,) = torch.autograd.grad(loss, w0)
        assert loss.item() == pytest.approx(query_loss)
        assert meta_grad.item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize('first_order, expected', [(False, -2.88), (True, -3.6)])
def test_trainer_meta_update_on_closed_form(first_order, expected):
    model = nn.Linear(1, 1, bias=False)
    nn.init.zeros_(model.weight)
    trainer = MAMLTrainer(model, inner_lr=0.1, outer_lr=1e-2, num_inner_steps=1,
                          first_order=first_order, loss_fn=squared_loss)
    stats = trainer.meta_update([dict(support=SUPPORT, query=QUERY)])
    assert stats['meta_loss'] == pytest.approx(3.24)
    assert stats['inner_loss_first'] == pytest.approx(1.0)
    assert model.weight.grad.item() == pytest.approx(expected, abs=1e-6)
    # Adam's first step is −lr · g / |g|: the weight moves up by outer_lr
    assert model.weight.item() == pytest.approx(1e-2, rel=1e-4)


def small_policy(seed=0, use_lstm=True, hidden_dim=16):
    torch.manual_seed(seed)
    return PolicyNetwork(state_dim=17, hidden_dim=hidden_dim, num_layers=4,
                         use_lstm=use_lstm)


def family_tasks(policy, task_ids, batch=32, family_seed=0):
    """``{'support', 'query'}`` rollouts of ``policy`` on tasks of a family."""
    family = ContextualTaskFamily(seed=family_seed)
    tasks = []
    for task_id in task_ids:
        env = family.sample_task(task_id, stream_seed=task_id)
        tasks.append(dict(support=collect(env, policy, batch), query=collect(env, policy, batch)))
    return tasks


def test_first_order_meta_gradient_is_query_gradient_at_detached_adapted_params():
    policy = small_policy()
    (task,) = family_tasks(policy, [3])
    grads = {}
    for first_order in (True, False):
        trainer = MAMLTrainer(copy.deepcopy(policy), inner_lr=0.5, num_inner_steps=2,
                              first_order=first_order)
        start = {n: p.detach().clone().requires_grad_() for n, p in trainer.meta_params().items()}
        trainer.meta_update([task])
        grads[first_order] = {n: p.grad for n, p in trainer.meta_policy.named_parameters()}
    def loss_fn(params, rollout):
        return ppo_rollout_loss(policy, params, rollout)

    adapted, _ = inner_adapt(loss_fn, start, task['support'], 0.5, 2, create_graph=False)
    detached = {n: p.detach().requires_grad_() for n, p in adapted.items()}
    expected = torch.autograd.grad(loss_fn(detached, task['query']), list(detached.values()))
    for (name, value) in zip(detached, expected):
        torch.testing.assert_close(grads[True][name], value)
    # the second-order meta-gradient is a different vector (the Hessian term is there)
    flat = {fo: torch.cat([g.flatten() for g in grads[fo].values()]) for fo in grads}
    assert (flat[True] - flat[False]).norm() > 1e-3 * flat[True].norm()


def test_second_order_meta_gradient_matches_finite_differences():
    policy = PolicyNetwork(state_dim=3, hidden_dim=3, num_layers=2).double()
    gen = torch.Generator().manual_seed(0)

    def rollout(n):
        states = torch.randn(n, 3, generator=gen, dtype=torch.float64)
        with torch.no_grad():
            actions, log_probs, _ = policy.select_action(states)
        return dict(states=states, actions=actions, log_probs=log_probs,
                    advantages=torch.randn(n, generator=gen, dtype=torch.float64),
                    returns=torch.randn(n, generator=gen, dtype=torch.float64))

    support, query = rollout(6), rollout(6)
    names = [n for n, _ in policy.named_parameters()]

    def meta_objective(*tensors):
        loss, _ = adapted_query_loss(lambda p, d: ppo_rollout_loss(policy, p, d),
                                     dict(zip(names, tensors)), support, query, lr=0.3,
                                     steps=2, first_order=False)
        return loss

    params = tuple(p.detach().clone().requires_grad_() for p in policy.parameters())
    assert torch.autograd.gradcheck(meta_objective, params, eps=1e-6, atol=1e-5,
                                    fast_mode=True)


def test_fast_adapt_leaves_the_meta_policy_untouched():
    policy = small_policy()
    before = {k: v.clone() for k, v in policy.state_dict().items()}
    (task,) = family_tasks(policy, [5], batch=64)
    trainer = MAMLTrainer(policy, inner_lr=0.5, num_inner_steps=5)
    adapted = trainer.fast_adapt(task['support'], num_steps=3)
    assert adapted is not policy
    for name, value in policy.state_dict().items():
        assert torch.equal(value, before[name]), name
    assert all(p.grad is None for p in policy.parameters())
    adapted_params = dict(adapted.named_parameters())
    assert any(not torch.equal(adapted_params[n], p) for n, p in policy.named_parameters())
    # the inner loop descended on the support loss
    with torch.no_grad():
        support_loss = {name: float(trainer.loss_fn(dict(pol.named_parameters()),
                                                    task['support']))
                        for name, pol in (('meta', policy), ('adapted', adapted))}
    assert support_loss['adapted'] < support_loss['meta']


def test_short_meta_training_adapts_faster_than_from_scratch():
    """60 meta-updates on a small family (2 types, 3 levels): one adaptation round
    (128 episodes, 5 inner steps) on unseen tasks gets more of the oracle reward from the
    meta-trained start than from the untrained one."""
    torch.set_num_threads(1)
    family = ContextualTaskFamily(num_types=2, num_levels=3, max_useful_levels=1, seed=0)
    torch.manual_seed(0)
    scratch = PolicyNetwork(state_dim=family.state_dim, hidden_dim=32, num_layers=3,
                            use_lstm=False)
    trainer = MAMLTrainer(copy.deepcopy(scratch), inner_lr=0.5, outer_lr=3e-3,
                          num_inner_steps=5)
    history = meta_train(trainer, family, iterations=60, tasks_per_update=4, batch=128,
                         seed=0)
    assert len(history) == 60 and trainer.num_meta_updates == 60
    fractions = {}
    for name, start in (('meta', trainer.meta_policy), ('scratch', scratch)):
        torch.manual_seed(1)
        fractions[name] = []
        for task_id in range(UNSEEN_TASKS, UNSEEN_TASKS + 4):
            env = family.sample_task(task_id)
            states, types, budget = env.sample(512, torch.Generator().manual_seed(0))
            oracle = env.references(types, budget)['oracle']
            adapted = MAMLTrainer(start, inner_lr=0.5).fast_adapt(collect(env, start, 128), 5)
            fractions[name].append(evaluate(env, adapted, states, types, budget) / oracle)
    meta, scratch_ = torch.tensor(fractions['meta']), torch.tensor(fractions['scratch'])
    assert meta.mean() > scratch_.mean() + 0.04, fractions
    assert (meta > scratch_).sum() >= 3, fractions


def test_resume_continues_exactly():
    torch.set_num_threads(1)
    behaviour = small_policy(seed=1)
    batches = [family_tasks(behaviour, [2 * i, 2 * i + 1]) for i in range(4)]

    def trainer_for(policy):
        return MAMLTrainer(policy, inner_lr=0.3, outer_lr=1e-2, num_inner_steps=2)

    uninterrupted = trainer_for(small_policy(seed=0))
    for tasks in batches:
        uninterrupted.meta_update(tasks)

    first = trainer_for(small_policy(seed=0))
    for tasks in batches[:2]:
        first.meta_update(tasks)
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    buffer.seek(0)
    resumed = trainer_for(small_policy(seed=7))             # another init: all is loaded
    resumed.load_state_dict(torch.load(buffer))
    assert resumed.num_meta_updates == 2
    for tasks in batches[2:]:
        resumed.meta_update(tasks)
    for (name, expected), actual in zip(uninterrupted.meta_policy.state_dict().items(),
                                        resumed.meta_policy.state_dict().values()):
        assert torch.equal(expected, actual), name


def test_rounds_to_fraction_counts_and_censors():
    env = ContextualTaskFamily(seed=0).sample_task(UNSEEN_TASKS)
    policy = small_policy(use_lstm=False)
    update = inner_loop_update(1, inner_lr=0.0)             # no learning
    reached = rounds_to_fraction(env, policy, update, max_rounds=2, batch=16, threshold=0.0)
    assert reached['rounds'] == 0 and reached['curve'] == []
    never = rounds_to_fraction(env, policy, update, max_rounds=2, batch=16, threshold=2.0)
    assert never['rounds'] is None and len(never['curve']) == 2
    assert never['final_fraction'] == pytest.approx(never['start_fraction'])


@pytest.mark.bad_input
def test_bad_arguments():
    with pytest.raises(ValueError, match='num_inner_steps'):
        MAMLTrainer(small_policy(), num_inner_steps=-1)
    with pytest.raises(ValueError, match='clip_epsilon'):
        MAMLTrainer(small_policy(), loss_fn=squared_loss, clip_epsilon=0.1)
    with pytest.raises(TypeError, match='clip_eps'):
        MAMLTrainer(small_policy(), clip_eps=0.1)
    with pytest.raises(ValueError, match='at least one task'):
        MAMLTrainer(small_policy()).meta_update([])
