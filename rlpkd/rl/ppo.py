"""PPO (clipped surrogate) update, CleanRL-style: every step of the update is visible here.

The policy is any ``nn.Module`` with
``evaluate_actions(states [N, S], actions [N, L]) -> (log_prob [N], entropy [N], value [N])``.

One :meth:`PPOTrainer.train_step` = GAE over the rollout, flatten ``T * B`` samples, then
``ppo_epochs`` passes over ``num_minibatches`` shuffled minibatches, one Adam step each.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from rlpkd.rl.gae import compute_gae, explained_variance
from rlpkd.utils import mean_over_ranks, world_size

# ---------------------------------------------------------------- pure loss functions


def average_gradients(module: nn.Module) -> None:
    """Replace every parameter gradient of ``module`` by its mean over ranks (no-op on
    one rank), so that every rank takes the same optimiser step."""
    if world_size() == 1:
        return
    params = [p for p in module.parameters() if p.grad is not None]
    for param, grad in zip(params, mean_over_ranks([p.grad for p in params])):
        param.grad.copy_(grad)


def ppo_policy_loss(ratio: Tensor, advantages: Tensor, clip_epsilon: float) -> Tensor:
    """Clipped surrogate ``-mean(min(r * A, clip(r, 1 - eps, 1 + eps) * A))``.

    Args:
        ratio: ``[N]`` ``pi_new(a|s) / pi_old(a|s)``.
        advantages: ``[N]``.
    """
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1.0 - clip_epsilon, 1.0 + clip_epsilon) * advantages
    return -torch.min(unclipped, clipped).mean()


def clip_fraction(ratio: Tensor, clip_epsilon: float) -> Tensor:
    """Fraction of samples whose ratio left the trust region: ``mean(|r - 1| > eps)``."""
    return ((ratio - 1.0).abs() > clip_epsilon).float().mean()


def approx_kl(log_ratio: Tensor) -> Tensor:
    """Low-variance KL(old || new) estimator ``mean((r - 1) - log r)`` (CleanRL / SB3).

    Args:
        log_ratio: ``[N]`` ``log pi_new(a|s) - log pi_old(a|s)``.
    """
    return (torch.exp(log_ratio) - 1.0 - log_ratio).mean()


def value_loss(values: Tensor, returns: Tensor, old_values: Tensor | None = None,
               clip_range: float | None = None) -> Tensor:
    """Critic loss ``0.5 * mean((v - R)^2)``, optionally clipped around the rollout values.

    With ``clip_range = c`` (CleanRL's ``clip_vloss``):
    ``0.5 * mean(max((v - R)^2, (v_old + clip(v - v_old, -c, c) - R)^2))``.

    Args:
        values: ``[N]`` new critic values.
        returns: ``[N]`` GAE returns (targets).
        old_values: ``[N]`` values recorded in the rollout; needed with ``clip_range``.
        clip_range: ``c``, or None for the plain MSE.
    """
    unclipped = (values - returns).pow(2)
    if clip_range is None:
        return 0.5 * unclipped.mean()
    if old_values is None:
        raise ValueError('value_loss with clip_range needs old_values')
    values_clipped = old_values + torch.clamp(values - old_values, -clip_range, clip_range)
    clipped = (values_clipped - returns).pow(2)
    return 0.5 * torch.max(unclipped, clipped).mean()


def flatten_rollout(rollout: dict[str, Tensor], gamma: float, gae_lambda: float,
                    device: torch.device | None = None,
                    dtype: torch.dtype = torch.float32) -> dict[str, Tensor]:
    """GAE over a rollout, then its ``N = T * B`` flat samples (detached, ``dtype``).

    Args:
        rollout: ``states [T, B, S]``, ``actions [T, B, L]``, ``rewards``, ``values``,
            ``log_probs``, ``dones`` ``[T, B]`` (optional ``last_values [B]``, default 0);
            or a batch that already has ``advantages`` and ``returns``.

    Returns:
        ``states [N, S]``, ``actions [N, L]``, ``log_probs``, ``values`` (where given),
        ``advantages``, ``returns`` ``[N]``.
    """
    data = {k: torch.as_tensor(v).detach().to(device, dtype) for k, v in rollout.items()}
    if 'advantages' not in data:
        rewards = data['rewards']
        last_values = data.get('last_values', rewards.new_zeros(rewards.shape[1]))
        data['advantages'], data['returns'] = compute_gae(
            rewards, data['values'], data['dones'], last_values, gamma, gae_lambda)
    n = data['advantages'].numel()
    flat = dict(states=data['states'].reshape(n, -1), actions=data['actions'].reshape(n, -1),
                log_probs=data['log_probs'].reshape(n),
                advantages=data['advantages'].reshape(n), returns=data['returns'].reshape(n))
    if 'values' in data:
        flat['values'] = data['values'].reshape(n)
    return flat


def ppo_loss(policy: nn.Module, batch: dict[str, Tensor], clip_epsilon: float,
             value_coef: float, entropy_coef: float, normalize_advantage: bool = True,
             clip_value_loss: float | None = None) -> tuple[Tensor, dict[str, Tensor]]:
    """PPO's loss of ``policy`` on flat samples (keys of :func:`flatten_rollout`):
    ``ppo_policy_loss(r, Â, ε) + c_v · value_loss − c_e · mean(H)``, ``r = π(a|s) / π_old``,
    ``Â`` normalised over the batch. ``policy`` is a module or a callable with its
    ``evaluate_actions`` signature (MAML passes a functional call). Returns ``(loss,
    parts)``: ``log_ratio``, ``ratio`` ``[N]``, ``policy_loss``, ``value_loss``,
    ``entropy`` (with graph).
    """
    evaluate = policy.evaluate_actions if isinstance(policy, nn.Module) else policy
    new_log_prob, entropy, new_value = evaluate(batch['states'], batch['actions'])
    log_ratio = new_log_prob - batch['log_probs']
    ratio = log_ratio.exp()
    advantages = batch['advantages']
    if normalize_advantage and advantages.numel() > 1:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    pg_loss = ppo_policy_loss(ratio, advantages, clip_epsilon)
    v_loss = value_loss(new_value, batch['returns'], old_values=batch.get('values'),
                        clip_range=clip_value_loss)
    entropy_mean = entropy.mean()
    loss = pg_loss + value_coef * v_loss - entropy_coef * entropy_mean
    return loss, dict(log_ratio=log_ratio, ratio=ratio, policy_loss=pg_loss,
                      value_loss=v_loss, entropy=entropy_mean)


# ---------------------------------------------------------------- trainer


class PPOTrainer:
    """Owns the optimiser and the shuffling generator; updates ``policy`` in place.

    ``state_dict`` covers the optimiser and the generator, not the policy's parameters
    (save those with the policy module). Under ``torch.distributed`` with world size > 1
    the gradients and the early-stop KL are averaged over ranks, so every rank takes the
    same steps and all policies stay identical.
    """

    def __init__(self, policy: nn.Module, lr: float = 3e-4, clip_epsilon: float = 0.2,
                 value_coef: float = 0.5, entropy_coef: float = 0.01, gamma: float = 0.99,
                 gae_lambda: float = 0.95, max_grad_norm: float = 0.5, ppo_epochs: int = 4,
                 num_minibatches: int = 4, clip_value_loss: float | None = None,
                 normalize_advantage: bool = True, target_kl: float | None = None,
                 seed: int | None = None) -> None:
        self.policy = policy
        self.clip_epsilon = clip_epsilon
        self.value_coef = value_coef
        self.entropy_coef = entropy_coef
        self.gamma = gamma
        self.gae_lambda = gae_lambda
        self.max_grad_norm = max_grad_norm
        self.ppo_epochs = ppo_epochs
        self.num_minibatches = num_minibatches
        self.clip_value_loss = clip_value_loss
        self.normalize_advantage = normalize_advantage
        self.target_kl = target_kl
        self.optimizer = torch.optim.Adam(policy.parameters(), lr=lr, eps=1e-5)
        self.generator = torch.Generator()            # CPU; shuffles minibatch indices
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(seed)

    def on_minibatch(self, epoch: int, index: int, stats: dict[str, Tensor]) -> None:
        """Hook called after every minibatch step; no-op. ``stats`` holds detached
        ``ratio [n]``, ``policy_loss``, ``value_loss``, ``entropy``, ``clip_fraction`` and
        ``approx_kl``. Override to inspect single updates (e.g. in tests)."""

    def train_step(self, rollout: dict[str, Tensor]) -> dict[str, float]:
        """One PPO update on a rollout.

        Args:
            rollout: ``states [T,B,S]``, ``actions [T,B,L]``, ``rewards``, ``values``,
                ``log_probs``, ``dones`` ``[T,B]``, optional ``last_values [B]``.

        Returns:
            ``policy_loss``, ``value_loss``, ``entropy``, ``clip_fraction``, ``approx_kl``
            (means over the minibatch steps taken), ``explained_variance`` (rollout values
            vs returns) and ``num_updates`` (minibatch steps taken).
        """
        batch = self.flatten_rollout(rollout)
        n = batch['log_probs'].shape[0]
        if n < self.num_minibatches:
            raise ValueError(f'{n} samples cannot fill {self.num_minibatches} minibatches')
        sums = dict.fromkeys(('policy_loss', 'value_loss', 'entropy', 'clip_fraction',
                              'approx_kl'), 0.0)
        num_updates, stopped = 0, False
        self.policy.train()
        for epoch in range(self.ppo_epochs):
            if stopped:
                break
            # a fresh shuffle per epoch, split into num_minibatches near-equal parts
            perm = torch.randperm(n, generator=self.generator).to(batch['returns'].device)
            for index, mb in enumerate(torch.tensor_split(perm, self.num_minibatches)):
                stats = self.update_minibatch({k: v[mb] for k, v in batch.items()})
                for key in sums:
                    sums[key] += float(stats[key])
                num_updates += 1
                self.on_minibatch(epoch, index, stats)
                if self.target_kl is not None and float(stats['approx_kl']) > self.target_kl:
                    stopped = True  # CleanRL-style early stop: this step is kept
                    break
        result = {key: total / num_updates for key, total in sums.items()}
        result['explained_variance'] = float(explained_variance(batch['values'],
                                                                batch['returns']))
        result['num_updates'] = float(num_updates)
        return result

    def flatten_rollout(self, rollout: dict[str, Tensor]) -> dict[str, Tensor]:
        """:func:`flatten_rollout` with this trainer's GAE settings, on its device."""
        device = next(self.policy.parameters()).device
        return flatten_rollout(rollout, self.gamma, self.gae_lambda, device)

    def update_minibatch(self, mb: dict[str, Tensor]) -> dict[str, Tensor]:
        """One Adam step on a minibatch (keys of :meth:`flatten_rollout`); gradients
        and the KL are averaged over ranks, so every rank takes the same step and the
        same early-stop decision. Returns detached ``ratio [n]``, ``policy_loss``,
        ``value_loss``, ``entropy``, ``clip_fraction``, ``approx_kl``."""
        loss, parts = ppo_loss(self.policy, mb, self.clip_epsilon, self.value_coef,
                               self.entropy_coef, self.normalize_advantage,
                               self.clip_value_loss)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.average_gradients()  # before clipping: the clipped step is the same everywhere
        nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
        self.optimizer.step()
        with torch.no_grad():
            (kl,) = mean_over_ranks([approx_kl(parts['log_ratio'])])
            ratio = parts['ratio'].detach()
            return dict(ratio=ratio, policy_loss=parts['policy_loss'].detach(),
                        value_loss=parts['value_loss'].detach(),
                        entropy=parts['entropy'].detach(),
                        clip_fraction=clip_fraction(ratio, self.clip_epsilon), approx_kl=kl)

    def average_gradients(self) -> None:
        """Replace every parameter gradient by its mean over ranks (no-op on one)."""
        average_gradients(self.policy)

    def state_dict(self) -> dict:
        """Optimiser state and the shuffling generator's RNG state."""
        return dict(optimizer=self.optimizer.state_dict(),
                    generator=self.generator.get_state())

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore optimiser and generator (the policy's parameters are loaded separately)."""
        self.optimizer.load_state_dict(state_dict['optimizer'])
        self.generator.set_state(torch.as_tensor(state_dict['generator'], dtype=torch.uint8).cpu())
