"""MAML for the level-selection policy: meta-learn an initialisation that adapts fast.

Model-Agnostic Meta-Learning (Finn, Abbeel & Levine, ICML 2017). With task ``i``'s
*support* rollouts ``D_i`` and *query* rollouts ``D'_i``, the **inner loop** adapts the
meta-parameters ``θ`` by ``K`` plain gradient steps (the paper's eq. 1, repeated)

    θ_i^(0) = θ,    θ_i^(k+1) = θ_i^(k) − α ∇ L(θ_i^(k); D_i),

and the **outer loop** minimises the post-adaptation query loss over a batch of tasks,
``min_θ  mean_i L(θ_i^(K); D'_i)`` (eq. 2, stepped as in eq. 3 / Algorithm 3 but with Adam,
and a mean instead of a sum so the outer step does not scale with the batch). The
*meta-gradient* ``∇_θ L(θ_i^(K); D'_i)`` differentiates through the inner steps (second
order, ``create_graph=True``); *first-order MAML* (Sec. 5.2) drops the second derivatives,
i.e. treats ``∂θ_i^(K)/∂θ`` as the identity, so the meta-gradient is the query-loss
gradient at the (detached) adapted parameters.

The inner loop runs on a parameter dict with :func:`torch.func.functional_call`: the
meta-policy's parameters are never modified by it (no ``higher`` / ``learn2learn``).

The loss ``L`` is PPO's (:mod:`rlpkd.rl.ppo`): clipped surrogate + value loss − entropy
bonus, the loss of :meth:`~rlpkd.rl.ppo.PPOTrainer.update_minibatch`. Its ratio
``π_θ'(a|s) / π_old(a|s)`` with the log-probs recorded in the rollout makes it valid for
query rollouts collected by the adapted policy (on-policy, as in the paper's RL
experiments: ratio 1, the surrogate's gradient is the policy gradient) and for rollouts
collected by the meta-policy (importance-weighted and clipped). As in the paper, the
dependence of the support rollouts' *distribution* on ``θ`` is not differentiated
(ProMP, Rothfuss et al. ICLR 2019, adds that term).

Rollouts are the dicts :meth:`rlpkd.rl.ppo.PPOTrainer.train_step` takes: ``states
[T, B, S]``, ``actions [T, B, L]``, ``rewards``, ``values``, ``log_probs``, ``dones``
``[T, B]`` (optional ``last_values [B]``), turned into advantages and returns with GAE;
or already flat batches with ``advantages`` and ``returns`` ``[N]``.

Tasks whose policies differ in buffers only (the real distillation tasks: each its own
``level_costs``, a non-persistent buffer) name their policy module in the task dict
(``'policy'``): the task's loss is then evaluated with the meta-parameters on that
module, so with that task's buffers (:meth:`MAMLTrainer.task_loss`).
"""
from __future__ import annotations

import copy
import functools
import inspect
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn
from torch.func import functional_call

from rlpkd.utils import mean_over_ranks, world_size

from .policy_io import save_policy
from .ppo import flatten_rollout, ppo_loss

Params = Dict[str, Tensor]
#: ``loss_fn(params, data) -> scalar``: the loss of the model with ``params`` on ``data``
LossFn = Callable[[Params, Any], Tensor]


# ---------------------------------------------------------------- pure functions


def inner_adapt(loss_fn: LossFn, params: Params, support: Any, lr: float, steps: int,
                create_graph: bool) -> Tuple[Params, List[float]]:
    """The inner loop: ``steps`` gradient steps ``θ ← θ − lr ∇ loss_fn(θ, support)``.

    Finn et al. (2017), eq. 1. With ``create_graph`` the returned parameters are
    differentiable functions of ``params`` through every step (second-order MAML); without
    it each step's gradient is a constant, so ``∂θ'/∂θ = I`` (first-order MAML, Sec. 5.2).

    Args:
        loss_fn: ``(params, support) -> scalar``.
        params: ``name -> tensor`` starting point; tensors that require grad are adapted
            (a parameter the loss does not use keeps its value).
        support: the data ``loss_fn`` takes.
        lr: ``α``, the inner learning rate.
        steps: ``K >= 0``.
        create_graph: keep the graph of the gradients (second order).

    Returns:
        ``(adapted params (same keys and shapes), [loss at θ^(0), ..., θ^(K-1)])``.
    """
    losses = []
    for _ in range(steps):
        names = [name for name, p in params.items() if p.requires_grad]
        loss = loss_fn(params, support)
        grads = torch.autograd.grad(loss, [params[n] for n in names],
                                    create_graph=create_graph, allow_unused=True)
        params = dict(params)
        for name, grad in zip(names, grads):
            if grad is not None:
                params[name] = params[name] - lr * grad
        losses.append(float(loss.detach()))
    return params, losses


def adapted_query_loss(loss_fn: LossFn, params: Params, support: Any, query: Any,
                       lr: float, steps: int, first_order: bool
                       ) -> Tuple[Tensor, List[float]]:
    """One task's meta-objective ``L(θ^(K); query)`` with ``θ^(K)`` from :func:`inner_adapt`.

    Its gradient with respect to ``params`` is the task's meta-gradient (second order,
    or first order with ``first_order``). Returns ``(query loss, inner losses)``.
    """
    adapted, inner_losses = inner_adapt(loss_fn, params, support, lr, steps,
                                        create_graph=not first_order)
    return loss_fn(adapted, query), inner_losses


def policy_call(policy: nn.Module, params: Params, method: str, *args: Any) -> Any:
    """``policy.<method>(*args)`` evaluated with ``params`` instead of its parameters.

    :func:`torch.func.functional_call` only calls ``forward``; a wrapper whose forward
    is ``method`` lets it call e.g. ``evaluate_actions``. Buffers are the policy's own.
    """
    wrapper = _MethodAsForward(policy, method)
    return functional_call(wrapper, {f'module.{k}': v for k, v in params.items()}, args)


class _MethodAsForward(nn.Module):
    def __init__(self, module: nn.Module, method: str) -> None:
        super().__init__()
        self.module = module
        self.method = method

    def forward(self, *args: Any) -> Any:
        return getattr(self.module, self.method)(*args)


def ppo_rollout_loss(policy: nn.Module, params: Params, rollout: Dict[str, Tensor], *,
                     clip_epsilon: float = 0.2, value_coef: float = 0.5,
                     entropy_coef: float = 0.01, gamma: float = 0.99,
                     gae_lambda: float = 0.95, normalize_advantage: bool = True) -> Tensor:
    """PPO's loss of ``policy`` with ``params`` on one rollout (all its samples at once).

    ``ppo_policy_loss(r, Â, ε) + c_v · value_loss(V, R) − c_e · mean(H)`` with
    ``r = exp(log π_params(a|s) − log π_old(a|s))`` and ``Â`` the advantages normalised
    over the rollout: :meth:`rlpkd.rl.ppo.PPOTrainer.update_minibatch`'s loss (without
    value clipping), as a function of ``params`` so MAML can differentiate through it.
    """
    first = next(iter(params.values()))
    batch = flatten_rollout(rollout, gamma, gae_lambda, first.device, first.dtype)
    batch.pop('values', None)  # no value clipping
    evaluate = functools.partial(policy_call, policy, params, 'evaluate_actions')
    return ppo_loss(evaluate, batch, clip_epsilon, value_coef, entropy_coef,
                    normalize_advantage)[0]


# ---------------------------------------------------------------- trainer


class MAMLTrainer:
    """Meta-trains ``meta_policy`` across tasks (MAML) and adapts it to new ones.

    Args:
        meta_policy: the policy (e.g. :class:`rlpkd.rl.policy.PolicyNetwork`); the outer
            loop updates it in place, the inner loop never does.
        inner_lr: ``α``, SGD step of the inner loop (and of :meth:`fast_adapt`).
        outer_lr: Adam learning rate of the outer loop (without ``optimizer``).
        num_inner_steps: ``K``, inner steps per task in :meth:`meta_update`.
        first_order: first-order MAML (no second derivatives).
        loss_fn: ``(params, rollout) -> scalar``; default :func:`ppo_rollout_loss` of
            ``meta_policy`` with ``ppo_loss`` as its keyword arguments.
        optimizer: the outer optimiser, over exactly ``meta_policy``'s trainable
            parameters (e.g. the runner's, :class:`rlpkd.engine.loops.MetaTrainLoop`);
            default ``Adam(lr=outer_lr)``.
        **ppo_loss: ``clip_epsilon``, ``value_coef``, ``entropy_coef``, ``gamma``,
            ``gae_lambda``, ``normalize_advantage`` of :func:`ppo_rollout_loss`.

    Under ``torch.distributed`` (world size > 1) the meta-gradients are averaged over
    ranks before the Adam step, so every rank's meta-policy stays identical.
    """

    def __init__(self, meta_policy: nn.Module, inner_lr: float = 1e-3,
                 outer_lr: float = 1e-4, num_inner_steps: int = 5, first_order: bool = False,
                 loss_fn: Optional[LossFn] = None,
                 optimizer: Optional[torch.optim.Optimizer] = None, **ppo_loss: Any) -> None:
        if num_inner_steps < 0:
            raise ValueError(f'num_inner_steps must be >= 0, got {num_inner_steps}')
        if loss_fn is not None and ppo_loss:
            raise ValueError(f'PPO loss arguments {sorted(ppo_loss)} given with a loss_fn')
        inspect.signature(ppo_rollout_loss).bind(meta_policy, {}, {}, **ppo_loss)  # names
        self.meta_policy = meta_policy
        self.inner_lr = inner_lr
        self.outer_lr = outer_lr
        self.num_inner_steps = num_inner_steps
        self.first_order = first_order
        self.ppo_loss = None if loss_fn is not None else ppo_loss
        self.loss_fn = loss_fn or functools.partial(ppo_rollout_loss, meta_policy, **ppo_loss)
        if optimizer is not None:
            _check_optimizer_params(optimizer, self.meta_params())
        self.optimizer = optimizer or torch.optim.Adam(meta_policy.parameters(), lr=outer_lr)
        self.num_meta_updates = 0

    def meta_params(self) -> Params:
        """The meta-policy's trainable parameters, by name (the tensors themselves)."""
        return {n: p for n, p in self.meta_policy.named_parameters() if p.requires_grad}

    def task_loss(self, policy: Optional[nn.Module] = None) -> LossFn:
        """The loss of a task whose policy module is ``policy``: the trainer's PPO loss
        evaluated on ``policy`` (its buffers, e.g. the task's ``level_costs``) with the
        parameters it is given. ``policy`` must have the meta-policy's parameter names and
        shapes; ``None`` (or the meta-policy): :attr:`loss_fn`."""
        if policy is None or policy is self.meta_policy:
            return self.loss_fn
        if self.ppo_loss is None:
            raise ValueError('a task policy needs the PPO loss; this trainer was given a '
                             'loss_fn')
        return functools.partial(ppo_rollout_loss, policy, **self.ppo_loss)

    def meta_update(self, tasks: Sequence[Dict[str, Any]]) -> Dict[str, float]:
        """One outer step on a batch of tasks ``[{'support': rollout, 'query': rollout}]``
        (optionally ``'policy'``: the task's policy module, :meth:`task_loss`).

        Each task's meta-gradient is back-propagated as soon as its query loss exists
        (one task's graph in memory at a time); the Adam step uses their mean.

        Returns:
            ``meta_loss`` (mean query loss after adaptation), ``inner_loss_first`` /
            ``inner_loss_last`` (mean support loss at the first / last inner step),
            ``meta_grad_norm`` (L2 norm of the averaged meta-gradient), ``num_tasks``.
        """
        if not tasks:
            raise ValueError('meta_update needs at least one task')
        self.meta_policy.train()
        self.optimizer.zero_grad(set_to_none=True)
        query_losses, first, last = [], [], []
        for task in tasks:
            query_loss, inner_losses = adapted_query_loss(
                self.task_loss(task.get('policy')), self.meta_params(), task['support'],
                task['query'], self.inner_lr, self.num_inner_steps, self.first_order)
            (query_loss / len(tasks)).backward()
            query_losses.append(float(query_loss.detach()))
            if inner_losses:
                first.append(inner_losses[0])
                last.append(inner_losses[-1])
        grads = self._average_gradients()
        self.optimizer.step()
        self.num_meta_updates += 1
        stats = dict(meta_loss=_mean(query_losses), meta_grad_norm=_global_norm(grads),
                     num_tasks=float(len(tasks)))
        if first:
            stats.update(inner_loss_first=_mean(first), inner_loss_last=_mean(last))
        return stats

    def fast_adapt(self, support: Any, num_steps: Optional[int] = None,
                   policy: Optional[nn.Module] = None) -> nn.Module:
        """A copy of the meta-policy adapted by ``num_steps`` (default ``K``) inner steps
        on ``support``; the meta-policy and its gradients are left untouched. With a
        task's ``policy`` (:meth:`task_loss`) the copy is of that module (its buffers)
        holding the adapted parameters."""
        steps = self.num_inner_steps if num_steps is None else num_steps
        start = {n: p.detach().requires_grad_() for n, p in self.meta_params().items()}
        adapted, _ = inner_adapt(self.task_loss(policy), start, support, self.inner_lr,
                                 steps, create_graph=False)
        result = copy.deepcopy(self.meta_policy if policy is None else policy)
        with torch.no_grad():
            for name, param in result.named_parameters():
                if name in adapted:
                    param.copy_(adapted[name])
        return result

    def save_policy(self, path: str) -> None:
        """Write the meta-policy as a policy file (:func:`rlpkd.rl.policy_io.save_policy`),
        what ``model.selector.policy_init`` starts a task's policy from."""
        save_policy(self.meta_policy, path)

    def _average_gradients(self) -> List[Tensor]:
        """Meta-gradients, averaged over ranks in place (no-op on one); returns them."""
        params = [p for p in self.meta_policy.parameters() if p.grad is not None]
        if world_size() > 1:
            for param, grad in zip(params, mean_over_ranks([p.grad for p in params])):
                param.grad.copy_(grad)
        return [p.grad for p in params]

    def state_dict(self) -> dict:
        """Meta-policy parameters, outer optimiser state and the meta-update count."""
        return dict(meta_policy=self.meta_policy.state_dict(),
                    optimizer=self.optimizer.state_dict(),
                    num_meta_updates=self.num_meta_updates)

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what :meth:`state_dict` saved (continue meta-training exactly)."""
        self.meta_policy.load_state_dict(state_dict['meta_policy'])
        self.optimizer.load_state_dict(state_dict['optimizer'])
        self.num_meta_updates = int(state_dict['num_meta_updates'])


def _check_optimizer_params(optimizer: torch.optim.Optimizer, params: Params) -> None:
    """``ValueError`` unless ``optimizer`` steps exactly the tensors ``params``."""
    stepped = {id(p) for group in optimizer.param_groups for p in group['params']}
    if stepped != {id(p) for p in params.values()}:
        raise ValueError(f'the outer optimizer steps {len(stepped)} tensors, the '
                         f'meta-policy has {len(params)} trainable parameters: it must step '
                         'exactly those')


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _global_norm(tensors: Sequence[Tensor]) -> float:
    return float(torch.linalg.vector_norm(torch.stack([t.norm() for t in tensors]))
                 ) if tensors else 0.0
