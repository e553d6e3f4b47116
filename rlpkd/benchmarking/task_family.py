"""A family of synthetic level-selection tasks with task-dependent optima (for MAML).

Every task is a :class:`rlpkd.benchmarking.contextual.ContextualSelectionEnv`. The tasks share
the sample *types* and their features (the family's embedding: one state space, as the
real state is task-agnostic), but each task draws its own

- usefulness ``u[k, l]``: type ``k`` is helped by 1 .. ``max_useful_levels`` levels
  chosen at random, with Dirichlet(1) shares (rows sum to 1);
- level costs ``c`` ~ Dirichlet(1, ..., 1) (a level's share of the distillation cost
  depends on the architecture's channels and strides; here any level can be the dearest).

Budgets are unconstrained (1). So the best subset of a sample depends on the task, and
the task is not visible in the state: a policy has to adapt to it from the rewards it
gets (fast adaptation is what MAML meta-learns, :mod:`rlpkd.rl.meta_learning`). Oracle
rewards stay exact.

This module also holds the loop pieces shared by the MAML test and benchmark: one batch
of single-step episodes as a PPO rollout, the meta-training loop of Finn et al. (2017,
Algorithm 3: support rollouts from the meta-policy, query rollouts from the adapted
one), and the count of adaptation rounds until 90 % of the oracle reward.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from rlpkd.rl.meta_learning import MAMLTrainer

from .contextual import ContextualSelectionEnv, evaluate

#: task ids at or above this are never drawn by :func:`meta_train` (held out: unseen)
UNSEEN_TASKS = 1_000_000


class ContextualTaskFamily:
    """Draws :class:`ContextualSelectionEnv` tasks (see the module docstring).

    Args:
        num_types: ``K`` sample types, shared by all tasks.
        num_levels: ``L`` pyramid levels.
        feature_dim: size of the types' noisy features.
        noise: standard deviation of the feature noise.
        lambda_tradeoff: λ of every task.
        max_useful_levels: at most this many levels help a type.
        seed: seed of the shared embedding and (with the task id) of every task's draw.
    """

    def __init__(self, num_types: int = 4, num_levels: int = 4, feature_dim: int = 16,
                 noise: float = 0.5, lambda_tradeoff: float = 0.5,
                 max_useful_levels: int = 2, seed: int = 0) -> None:
        if not 1 <= max_useful_levels <= num_levels:
            raise ValueError(f'max_useful_levels must be in [1, {num_levels}], '
                             f'got {max_useful_levels}')
        self.num_types = num_types
        self.num_levels = num_levels
        self.noise = noise
        self.lambda_tradeoff = lambda_tradeoff
        self.max_useful_levels = max_useful_levels
        self.seed = seed
        self.embedding = torch.randn(num_types, feature_dim,
                                     generator=torch.Generator().manual_seed(seed))

    @property
    def state_dim(self) -> int:
        return self.embedding.shape[1] + 1

    def task_parameters(self, task_id: int) -> Tuple[Tensor, Tensor]:
        """``(usefulness [K, L], costs [L])`` of task ``task_id`` (deterministic)."""
        # torch's CPU generator keeps 32 bits of a seed: mix (seed, task_id) into 32 bits
        mixed = int(np.random.SeedSequence([self.seed, task_id]).generate_state(1)[0])
        gen = torch.Generator().manual_seed(mixed)
        usefulness = torch.zeros(self.num_types, self.num_levels)
        for k in range(self.num_types):
            count = int(torch.randint(1, self.max_useful_levels + 1, (1,), generator=gen))
            levels = torch.randperm(self.num_levels, generator=gen)[:count]
            usefulness[k, levels] = _dirichlet_ones(count, gen)
        return usefulness, _dirichlet_ones(self.num_levels, gen)

    def sample_task(self, task_id: int, stream_seed: int = 0) -> ContextualSelectionEnv:
        """Task ``task_id``; ``stream_seed`` seeds its stream of samples."""
        usefulness, costs = self.task_parameters(task_id)
        return ContextualSelectionEnv(usefulness.tolist(), costs.tolist(),
                                      lambda_tradeoff=self.lambda_tradeoff, noise=self.noise,
                                      seed=stream_seed, embedding=self.embedding)


def collect(env: ContextualSelectionEnv, policy: nn.Module, batch: int) -> Dict[str, Tensor]:
    """``batch`` single-step episodes of ``policy`` (sampled actions) as a PPO rollout
    with ``T = 1``: ``states [1, B, S]``, ``actions [1, B, L]``, ``rewards``, ``values``,
    ``log_probs``, ``dones`` ``[1, B]``."""
    states = env.reset(batch)
    with torch.no_grad():
        action, log_prob, value = policy.select_action(states)
    _, reward, done, _ = env.step(action)
    return {k: v[None] for k, v in dict(states=states, actions=action, rewards=reward,
                                        values=value, log_probs=log_prob,
                                        dones=done).items()}


def meta_train(trainer: MAMLTrainer, family: ContextualTaskFamily, iterations: int,
               tasks_per_update: int, batch: int, seed: int) -> List[Dict[str, float]]:
    """Meta-train ``trainer.meta_policy`` on tasks drawn from ``family`` (ids below
    :data:`UNSEEN_TASKS`). Per task: support from the meta-policy, query from the
    policy adapted on it (:meth:`MAMLTrainer.fast_adapt`). Returns the stats per update."""
    gen = torch.Generator().manual_seed(seed)
    history = []
    for _ in range(iterations):
        tasks = []
        for _ in range(tasks_per_update):
            task_id, stream = torch.randint(UNSEEN_TASKS, (2,), generator=gen).tolist()
            env = family.sample_task(task_id, stream)
            support = collect(env, trainer.meta_policy, batch)
            query = collect(env, trainer.fast_adapt(support), batch)
            tasks.append(dict(support=support, query=query))
        history.append(trainer.meta_update(tasks))
    return history


#: ``update(policy, rollout) -> policy``: one adaptation round's update
Update = Callable[[nn.Module, Dict[str, Tensor]], nn.Module]


def rounds_to_fraction(env: ContextualSelectionEnv, policy: nn.Module, update: Update,
                       max_rounds: int, batch: int, eval_samples: int = 1024,
                       threshold: float = 0.9, eval_seed: int = 0) -> Dict[str, object]:
    """Adapt ``policy`` to ``env`` round by round until its deterministic mean reward on
    held-out samples reaches ``threshold`` × the oracle's.

    A round = collect ``batch`` episodes with the current policy, then ``update``.

    Returns:
        ``rounds`` (rounds taken, 0 if the start policy is already there; ``None`` if
        not reached in ``max_rounds``), ``start_fraction`` and ``final_fraction`` of the
        oracle reward, ``curve`` (fraction after each round), ``references``
        (:meth:`ContextualSelectionEnv.references` on the held-out samples).
    """
    states, types, budget = env.sample(eval_samples, torch.Generator().manual_seed(eval_seed))
    references = env.references(types, budget)
    oracle = references['oracle']

    def fraction(pol: nn.Module) -> float:
        return evaluate(env, pol, states, types, budget) / oracle

    start = fraction(policy)
    curve, rounds = [], 0 if start >= threshold else None
    while rounds is None and len(curve) < max_rounds:
        policy = update(policy, collect(env, policy, batch))
        curve.append(fraction(policy))
        if curve[-1] >= threshold:
            rounds = len(curve)
    return dict(rounds=rounds, start_fraction=start,
                final_fraction=curve[-1] if curve else start, curve=curve,
                references=references)


def inner_loop_update(num_steps: int, **maml: object) -> Update:
    """An :data:`Update` that takes ``num_steps`` inner-loop SGD steps
    (:meth:`MAMLTrainer.fast_adapt` of a trainer built with ``maml``) on the round's rollout."""
    def update(policy: nn.Module, rollout: Dict[str, Tensor]) -> nn.Module:
        return MAMLTrainer(policy, **maml).fast_adapt(rollout, num_steps)
    return update



def _dirichlet_ones(n: int, gen: torch.Generator) -> Tensor:
    """``[n]`` draw of Dirichlet(1, ..., 1): normalised standard exponentials."""
    draws = -torch.rand(n, generator=gen).log()
    return draws / draws.sum()
