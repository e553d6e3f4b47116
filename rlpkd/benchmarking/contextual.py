"""A synthetic level-selection problem whose optimum is known.

Same interface as :class:`rlpkd.rl.environment.ParallelDistillationEnv`
(``reset`` -> states ``[B, S]``, ``step(action [B, L])`` -> state, reward, done, info),
so the policy and PPO are tested on it exactly as they run on real pyramids.

Each sample has a hidden *type* (think "only small objects", "only large objects",
...) that is visible through noisy features. Type k gives level l an improvement
share ``u[k, l]`` (rows sum to 1, like ``ΔL(a) / ΔL(1)`` of the real environment), levels
cost ``c_l`` (P2 dearest), and

    used(a)   = Σ_l c_l a_l
    reward(a) = min(1, Σ_l u[k, l] a_l) + λ (1 − used(a)) − penalty · max(0, used(a) − budget).

With at most 2^L subsets the best action of every sample (the oracle) and the best
single subset for all samples (the most a per-dataset NAS search can find) are exact.
"""
from __future__ import annotations

import itertools
import time
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor

from rlpkd.compat.buffer import RolloutBuffer
from rlpkd.rl.policy import PolicyNetwork
from rlpkd.rl.ppo import PPOTrainer

#: improvement shares per type for P2..P5: small objects, large, mixed, medium
DEFAULT_USEFULNESS = ((0.8, 0.2, 0.0, 0.0),
                      (0.0, 0.0, 0.3, 0.7),
                      (0.5, 0.0, 0.0, 0.5),
                      (0.0, 0.6, 0.4, 0.0))
#: FLOPs fractions of P2..P5 (each level has 1/4 of the pixels of the one before)
DEFAULT_COSTS = (64 / 85, 16 / 85, 4 / 85, 1 / 85)


class ContextualSelectionEnv:
    """Batched synthetic MDP with a known optimum (see the module docstring).

    Args:
        usefulness: ``[K, L]`` improvement shares per type.
        costs: ``[L]`` cost fractions.
        lambda_tradeoff: λ.
        feature_dim: size of the noisy type features (the state is these, then the budget).
        noise: standard deviation of the feature noise.
        budgets: budgets drawn uniformly per sample; ``(1.0,)`` = unconstrained.
        over_budget_penalty: reward penalty per unit of cost over budget.
        seed: seed of the feature embedding and of the sample stream.
        embedding: ``[K, feature_dim]`` mean features of the types, e.g. shared by a
            family of tasks (:mod:`rlpkd.benchmarking.task_family`); default drawn from ``seed``.
    """

    def __init__(self, usefulness: Sequence[Sequence[float]] = DEFAULT_USEFULNESS,
                 costs: Sequence[float] = DEFAULT_COSTS, lambda_tradeoff: float = 0.5,
                 feature_dim: int = 16, noise: float = 0.5, budgets: Sequence[float] = (1.0,),
                 over_budget_penalty: float = 2.0, seed: int = 0,
                 embedding: Optional[Tensor] = None) -> None:
        self.usefulness = torch.tensor(usefulness, dtype=torch.float32)
        self.costs = torch.tensor(costs, dtype=torch.float32)
        self.lambda_tradeoff = lambda_tradeoff
        self.noise = noise
        self.budgets = torch.tensor(budgets, dtype=torch.float32)
        self.over_budget_penalty = over_budget_penalty
        self.generator = torch.Generator().manual_seed(seed)
        if embedding is None:
            embedding = torch.randn(self.num_types, feature_dim, generator=self.generator)
        elif embedding.shape[0] != self.num_types:
            raise ValueError(f'embedding has {embedding.shape[0]} rows, usefulness has '
                             f'{self.num_types} types')
        self.embedding = embedding.float()
        self.subsets = torch.tensor(list(itertools.product((0.0, 1.0), repeat=self.num_levels)))
        self._types: Optional[Tensor] = None
        self._budget: Optional[Tensor] = None

    @property
    def num_types(self) -> int:
        return self.usefulness.shape[0]

    @property
    def num_levels(self) -> int:
        return self.usefulness.shape[1]

    @property
    def state_dim(self) -> int:
        return self.embedding.shape[1] + 1

    def sample(self, batch_size: int, generator: Optional[torch.Generator] = None
               ) -> Tuple[Tensor, Tensor, Tensor]:
        """Draw samples: ``(states [B, S] (budget last), types [B], budgets [B])``."""
        gen = self.generator if generator is None else generator
        types = torch.randint(self.num_types, (batch_size,), generator=gen)
        budget = self.budgets[torch.randint(len(self.budgets), (batch_size,), generator=gen)]
        noise = self.noise * torch.randn(batch_size, self.embedding.shape[1], generator=gen)
        return torch.cat([self.embedding[types] + noise, budget[:, None]], dim=1), types, budget

    def reset(self, batch_size: int) -> Tensor:
        """Draw ``batch_size`` samples from the env's stream; return their states."""
        states, self._types, self._budget = self.sample(batch_size)
        return states

    def rewards(self, types: Tensor, budget: Tensor, action: Tensor) -> Tuple[Tensor, Tensor]:
        """``(reward [B], improvement [B])`` of ``action [B, L]`` for these samples."""
        action = action.float()
        improvement = (self.usefulness[types] * action).sum(dim=1).clamp(max=1.0)
        used = action @ self.costs
        reward = (improvement + self.lambda_tradeoff * (1 - used)
                  - self.over_budget_penalty * (used - budget).clamp(min=0))
        return reward, improvement

    def step(self, action: Tensor) -> Tuple[Tensor, Tensor, Tensor, dict]:
        """Score ``action`` ``[B, L]``; every episode ends (``done`` all ones)."""
        if self._types is None:
            raise RuntimeError('call reset() before step()')
        action = action.detach().float().cpu()
        reward, improvement = self.rewards(self._types, self._budget, action)
        used = action @ self.costs
        info = dict(improvement=improvement, used_cost=used, saved_cost=1 - used,
                    oracle_reward=self.oracle(self._types, self._budget)[0],
                    types=self._types)
        self._types = None
        return None, reward, torch.ones_like(reward), info

    def subset_rewards(self, types: Tensor, budget: Tensor) -> Tensor:
        """``[B, 2^L]`` reward of every subset for every sample."""
        batch, n = types.shape[0], self.subsets.shape[0]
        reward, _ = self.rewards(types.repeat_interleave(n), budget.repeat_interleave(n),
                                 self.subsets.repeat(batch, 1))
        return reward.view(batch, n)

    def oracle(self, types: Tensor, budget: Tensor) -> Tuple[Tensor, Tensor]:
        """Best reward ``[B]`` and best subset ``[B, L]`` of every sample."""
        best, index = self.subset_rewards(types, budget).max(dim=1)
        return best, self.subsets[index]

    def references(self, types: Tensor, budget: Tensor) -> dict:
        """Reference mean rewards on these samples.

        ``oracle``: best subset per sample; ``best_fixed``: the best single subset for
        all of them, and which; ``random``: uniform Bernoulli(0.5) over levels.
        """
        table = self.subset_rewards(types, budget)                        # [N, 2^L]
        fixed = table.mean(dim=0)
        return dict(oracle=float(table.max(dim=1).values.mean()),
                    best_fixed=float(fixed.max()),
                    best_fixed_subset=self.subsets[int(fixed.argmax())].tolist(),
                    random=float(table.mean()))


def evaluate(env: ContextualSelectionEnv, policy: PolicyNetwork, states: Tensor,
             types: Tensor, budget: Tensor) -> float:
    """Mean reward of the deterministic policy on a fixed evaluation set."""
    with torch.no_grad():
        action, _, _ = policy.select_action(states, deterministic=True)
    return float(env.rewards(types, budget, action)[0].mean())


def train_ppo(name: str, env: ContextualSelectionEnv, use_lstm: bool, hard_budget: bool,
              iterations: int, steps: int, batch: int, seed: int) -> dict:
    """Train a :class:`PolicyNetwork` with :class:`PPOTrainer` on ``env``.

    Each iteration collects ``steps`` batches of ``batch`` episodes into a
    :class:`RolloutBuffer`, then runs one PPO update. Returns the deterministic
    policy's final mean reward on 2048 held-out samples (``final_reward``), the
    references (oracle, best fixed subset, random) on them, ``fraction_of_oracle``,
    when 90 % of the oracle was reached (``reached_90``), wall time and the curve.
    """
    torch.manual_seed(seed)
    policy = PolicyNetwork(state_dim=env.state_dim, hidden_dim=64, num_layers=env.num_levels,
                           use_lstm=use_lstm, level_costs=env.costs, hard_budget=hard_budget)
    trainer = PPOTrainer(policy, lr=1e-3, seed=seed)
    buffer = RolloutBuffer(steps, batch, env.state_dim, env.num_levels)
    eval_states, eval_types, eval_budget = env.sample(
        2048, torch.Generator().manual_seed(seed + 999))       # held out, same features
    references = env.references(eval_types, eval_budget)
    oracle = references['oracle']
    curve, reached, start = [], None, time.time()
    for it in range(1, iterations + 1):
        for _ in range(steps):
            states = env.reset(batch)
            with torch.no_grad():
                action, log_prob, value = policy.select_action(states)
            _, reward, done, _ = env.step(action)
            buffer.add(states, action, reward, value, log_prob, done)
        trainer.train_step(buffer.as_rollout())
        buffer.reset()
        fraction = evaluate(env, policy, eval_states, eval_types, eval_budget) / oracle
        curve.append(round(fraction, 4))
        if reached is None and fraction >= 0.9:
            reached = dict(iteration=it, samples=it * steps * batch,
                           seconds=round(time.time() - start, 2))
    final = evaluate(env, policy, eval_states, eval_types, eval_budget)
    return dict(name=name, use_lstm=use_lstm, hard_budget=hard_budget, final_reward=final,
                references=references, fraction_of_oracle=final / oracle,
                reached_90=reached, seconds=round(time.time() - start, 2),
                samples=iterations * steps * batch, curve=curve)
