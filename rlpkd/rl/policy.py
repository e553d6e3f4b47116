"""The PPO policy that decides, per sample, which pyramid levels to distil.

Each sample is an episode of ``L`` sequential include/skip decisions, one per level
(P2, P3, ... in order). The sequential policy (``use_lstm=True``) runs an
``nn.LSTMCell`` over the levels, so decision ``l`` is conditioned on the state, on
which levels were already chosen and on the budget left; the ablation
(``use_lstm=False``) emits ``L`` independent Bernoulli logits in one step.

The policy reads the episode's cost budget (a fraction of the full cost, in ``[0, 1]``,
1 = unconstrained) from the state's ``'budget'`` field by name
(:class:`rlpkd.rl.state.StateLayout`; without a layout: the last entry). Level ``l``
costs ``level_costs[l]`` (normalised to sum 1).
"""
from __future__ import annotations

import functools
import math
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .state import LEVEL_SIGNALS, StateLayout

# Slack when comparing a level's cost with the budget left (float round-off of sums).
_BUDGET_TOL = 1e-6


def _accepts_one_state(method):
    """Let ``method(state [B, S], actions [B, L] ...)`` also take one state ``[S]`` (and
    actions ``[L]``): the outputs then lose their batch dimension (the prototype's
    episode loop feeds ``env.reset(image)``'s ``[S]`` straight in)."""
    @functools.wraps(method)
    def wrapper(self, state: Tensor, *args, **kwargs):
        if state.dim() != 1:
            return method(self, state, *args, **kwargs)
        args = [a.unsqueeze(0) if isinstance(a, Tensor) else a for a in args]
        kwargs = {k: v.unsqueeze(0) if isinstance(v, Tensor) else v for k, v in kwargs.items()}
        return tuple(out[0] for out in method(self, state.unsqueeze(0), *args, **kwargs))
    return wrapper


def _normalised_costs(level_costs: Optional[Union[Tensor, Sequence[float]]],
                      num_levels: int) -> Tensor:
    """``[L]`` level costs normalised to sum 1 (uniform ``1/L`` for ``None``)."""
    if level_costs is None:
        return torch.full((num_levels,), 1.0 / num_levels)
    costs = torch.as_tensor(level_costs, dtype=torch.float32).detach().clone()
    if costs.shape != (num_levels,):
        raise ValueError(f'level_costs must have {num_levels} entries (one per '
                         f'level), got shape {tuple(costs.shape)}')
    if not torch.isfinite(costs).all() or (costs < 0).any() or costs.sum() <= 0:
        raise ValueError(f'level_costs must be finite, >= 0 and not all 0, '
                         f'got {costs.tolist()}')
    return costs / costs.sum()


def _bernoulli_terms(logit: Tensor, action: Tensor, explore: float
                     ) -> Tuple[Tensor, Tensor, Tensor]:
    """``(p, log P(action), entropy)`` elementwise for ``p = ε + (1 − 2ε) sigmoid(logit)``,
    ``ε = explore``: BlockDrop's exploration bound (Wu et al., CVPR 2018: ``p' = α p +
    (1 − α)(1 − p)`` with ``α = 1 − ε``). ``ε = 0`` is the plain Bernoulli, computed from
    the logit (stable)."""
    if explore == 0:
        return (torch.sigmoid(logit), _bernoulli_log_prob(logit, action),
                _bernoulli_entropy(logit))
    p = explore + (1 - 2 * explore) * torch.sigmoid(logit)
    log_p, log_q = torch.log(p), torch.log1p(-p)
    return p, action * log_p + (1 - action) * log_q, -(p * log_p + (1 - p) * log_q)


def _layer_init(layer: nn.Linear, gain: float) -> nn.Linear:
    """Orthogonal weights with ``gain`` and zero bias, as in CleanRL's PPO."""
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


def _bernoulli_log_prob(logit: Tensor, action: Tensor) -> Tensor:
    """``log P(action)`` of ``Bernoulli(sigmoid(logit))``, elementwise, stable."""
    return action * F.logsigmoid(logit) + (1 - action) * F.logsigmoid(-logit)


def _bernoulli_entropy(logit: Tensor) -> Tensor:
    """Entropy of ``Bernoulli(sigmoid(logit))`` (nats), elementwise, stable.

    ``H = p softplus(-x) + (1 - p) softplus(x)`` with ``p = sigmoid(x)``.
    """
    p = torch.sigmoid(logit)
    return p * F.softplus(-logit) + (1 - p) * F.softplus(logit)


class PolicyNetwork(nn.Module):
    """Actor-critic over the ``L`` include/skip decisions of one sample.

    Args:
        state_dim: ``S``, the length of the per-sample state vector.
        hidden_dim: width of the encoder, the LSTM cell and the heads.
        num_layers: the number of pyramid levels ``L`` (prototype name; see
            :attr:`num_levels`).
        use_lstm: sequential (autoregressive) policy if True, else ``L`` independent
            Bernoulli decisions from one encoder pass.
        level_costs: ``[L]`` relative costs, normalised to sum 1; default uniform ``1/L``.
        hard_budget: (sequential only) force off every level whose cost exceeds the
            budget left; such a level has probability 0 and adds 0 log-prob and entropy.
        layout: the state's named fields (:class:`rlpkd.rl.state.StateLayout`), size
            ``state_dim``, with a ``'budget'`` field; default: features, then the budget.
        init_keep_prob: probability of keeping each level before any training (the bias
            of the decision head; its weights start near 0). Above 0.5 the untrained
            greedy policy keeps every level, i.e. distillation starts as uniform KD and
            the policy learns what to drop (BlockDrop, Wu et al. CVPR 2018, starts from
            the full network the same way); 0.5 is the unbiased coin.
        explore: exploration bound ``ε`` in [0, 0.5): every decision's probability is
            ``ε + (1 − 2ε) sigmoid(logit)``, in ``[ε, 1 − ε]``, so sampling never stops
            trying the other choice (BlockDrop's bound; without it a policy whose
            entropy collapsed gets zero advantage for every alternative). The greedy
            choice is unchanged (``p >= 0.5``).
    """

    def __init__(self,
                 state_dim: int = 1542,
                 hidden_dim: int = 256,
                 num_layers: int = 4,
                 use_lstm: bool = True,
                 level_costs: Optional[Union[Tensor, Sequence[float]]] = None,
                 hard_budget: bool = False, layout: Optional[StateLayout] = None,
                 init_keep_prob: float = 0.75, explore: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= explore < 0.5:
            raise ValueError(f'explore (model.selector.policy.explore) must be in [0, 0.5), '
                             f'got {explore}')
        self.explore = explore
        layout = layout or StateLayout.features_and_budget(state_dim)
        if layout.dim != state_dim:
            raise ValueError(f'the state layout has {layout.dim} entries, state_dim is '
                             f'{state_dim}')
        if 'budget' not in dict(layout.fields):
            raise ValueError(f'the state layout has no budget field: {layout.fields}')
        self.layout = layout
        if num_layers < 1:
            raise ValueError(f'num_layers (the number of levels) must be >= 1, '
                             f'got {num_layers}')
        if not 0.0 < init_keep_prob < 1.0:
            raise ValueError(f'init_keep_prob must be in (0, 1), got {init_keep_prob}')
        if hard_budget and not use_lstm:
            raise ValueError('hard_budget=True needs the sequential policy (use_lstm=True): '
                             'independent decisions cannot see the budget already spent')
        self.state_dim = state_dim
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.use_lstm = use_lstm
        self.hard_budget = hard_budget

        costs = _normalised_costs(level_costs, num_layers)
        # the task's costs, not learned: not in the state_dict, so a policy moves between
        # tasks (det -> seg -> cls) and keeps each task's own costs
        self.register_buffer('level_costs', costs.float(), persistent=False)

        sqrt2 = math.sqrt(2.0)
        self.encoder = nn.Sequential(
            _layer_init(nn.Linear(state_dim, hidden_dim), sqrt2), nn.Tanh(),
            _layer_init(nn.Linear(hidden_dim, hidden_dim), sqrt2), nn.Tanh())
        self.value_head = _layer_init(nn.Linear(hidden_dim, 1), 1.0)
        # per-level signal fields of the layout: decision l also gets their entry l
        self.level_signals = tuple(f for f in layout.names() if f in LEVEL_SIGNALS)
        if use_lstm:
            # step input: [encoded state, one-hot(l), selected-so-far, budget left, prev
            # action, level l's entry of each per-level signal]
            self.lstm = nn.LSTMCell(hidden_dim + 2 * num_layers + 2 + len(self.level_signals),
                                    hidden_dim)
            for name, param in self.lstm.named_parameters():
                if 'weight' in name:
                    nn.init.orthogonal_(param, 1.0)
                else:
                    nn.init.zeros_(param)
            self.policy_head = _layer_init(nn.Linear(hidden_dim, 1), 0.01)
        else:
            self.policy_head = _layer_init(nn.Linear(hidden_dim, num_layers), 0.01)
        nn.init.constant_(self.policy_head.bias, math.log(init_keep_prob / (1 - init_keep_prob)))

    @property
    def num_levels(self) -> int:
        """``L``, the number of pyramid levels (decisions per episode)."""
        return self.num_layers

    # ------------------------------------------------------------------ public API
    @_accepts_one_state
    def forward(self, state: Tensor,
                actions: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Per-level selection probabilities and the state value.

        Args:
            state: ``[B, S]`` (or one state ``[S]``: outputs without the batch dimension).
            actions: optional ``[B, L]`` in {0, 1}; the sequential policy is conditioned
                on them (teacher forcing), else on its own greedy decisions (p >= 0.5).
                Ignored by the independent policy.

        Returns:
            ``(action_probs [B, L], value [B])``; forced-off levels have probability 0.
        """
        mode = 'greedy' if actions is None else 'teacher'
        _, probs, _, _, value = self._rollout(state, mode, actions)
        return probs, value

    @_accepts_one_state
    def select_action(self, state: Tensor,
                      deterministic: bool = False) -> Tuple[Tensor, Tensor, Tensor]:
        """Sample (or take greedily) one episode of decisions per sample.

        Does not disable autograd; callers wrap it in ``torch.no_grad()`` when collecting.

        Args:
            state: ``[B, S]`` (or one state ``[S]``: outputs ``action [L]``, scalar
                ``log_prob`` and ``value``).
            deterministic: take ``p >= 0.5`` at every level instead of sampling.

        Returns:
            ``(action [B, L] float in {0, 1}, log_prob [B], value [B])``; ``log_prob`` is
            the sum over levels of the Bernoulli log-probs of the chosen actions.
        """
        mode = 'greedy' if deterministic else 'sample'
        action, _, logp, _, value = self._rollout(state, mode)
        return action, logp.sum(dim=1), value

    @_accepts_one_state
    def evaluate_actions(self, states: Tensor,
                         actions: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Teacher-forced log-prob, entropy and value of given episodes (PPO update).

        With ``hard_budget``, an action 1 on a level that is forced off is treated as 0
        (it contributes 0 log-prob and the next steps see it unselected); actions from
        :meth:`select_action` never contain such entries.

        Args:
            states: ``[N, S]``.
            actions: ``[N, L]`` in {0, 1}.

        Returns:
            ``(log_prob [N], entropy [N], value [N])``; entropy is the sum over levels of
            the per-step Bernoulli entropies (0 for forced-off levels).
        """
        _, _, logp, ent, value = self._rollout(states, 'teacher', actions)
        return logp.sum(dim=1), ent.sum(dim=1), value

    # ------------------------------------------------------------------ internals
    def _check_inputs(self, state: Tensor, actions: Optional[Tensor]) -> None:
        if state.dim() != 2 or state.shape[1] != self.state_dim:
            raise ValueError(f'state must be [B, {self.state_dim}], got '
                             f'{tuple(state.shape)}')
        if actions is not None and actions.shape != (state.shape[0], self.num_levels):
            raise ValueError(f'actions must be [{state.shape[0]}, {self.num_levels}], got '
                             f'{tuple(actions.shape)}')

    def _rollout(self, state: Tensor, mode: str, actions: Optional[Tensor] = None
                 ) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """Run the policy over the L levels.

        Args:
            state: ``[B, S]``.
            mode: ``'sample'``, ``'greedy'`` (p >= 0.5) or ``'teacher'`` (use ``actions``).
            actions: ``[B, L]``, only for ``'teacher'``.

        Returns:
            ``(actions [B, L], probs [B, L], log_prob [B, L], entropy [B, L], value [B])``,
            all in ``state``'s floating dtype (float32 for a non-float state).
        """
        self._check_inputs(state, actions)
        if mode == 'teacher' and actions is None:
            raise ValueError('teacher forcing needs actions')
        dtype = state.dtype if state.is_floating_point() else torch.float32
        enc = self.encoder(state)
        value = self.value_head(enc).squeeze(1).to(dtype)
        if self.use_lstm:
            return self._sequential(state, enc, mode, actions, dtype) + (value,)
        logits = self.policy_head(enc).to(dtype)
        act = self._choose(logits, mode, actions)
        return (act, *_bernoulli_terms(logits, act, self.explore), value)

    def _choose(self, logits: Tensor, mode: str, actions: Optional[Tensor]) -> Tensor:
        """Actions (same shape as ``logits``, float {0, 1}) for ``mode``."""
        if mode == 'teacher':
            return actions.to(logits.dtype)
        if mode == 'greedy':
            return (logits >= 0).to(logits.dtype)  # p >= 0.5  <=>  x >= 0 (any explore)
        prob = self.explore + (1 - 2 * self.explore) * torch.sigmoid(logits)
        return (torch.rand_like(logits) < prob).to(logits.dtype)

    def _sequential(self, state: Tensor, enc: Tensor, mode: str,
                    actions: Optional[Tensor], dtype: torch.dtype
                    ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """The LSTM-cell loop; returns ``(actions, probs, log_prob, entropy)``, each ``[B, L]``."""
        num_levels, batch = self.num_levels, state.shape[0]
        feat_dtype = enc.dtype  # the step inputs match the encoder output (autocast-safe)
        costs = self.level_costs.to(device=state.device, dtype=dtype)
        budget = self.layout.read(state, 'budget')[:, 0].to(dtype)
        eye = torch.eye(num_levels, device=state.device, dtype=feat_dtype)
        h = enc.new_zeros(batch, self.hidden_dim)
        c = enc.new_zeros(batch, self.hidden_dim)
        selected = enc.new_zeros(batch, num_levels)
        spent = budget.new_zeros(batch)
        prev = budget.new_zeros(batch)
        out_act, out_p, out_logp, out_ent = [], [], [], []
        for lvl in range(num_levels):
            left = budget - spent
            own = [self.layout.read(state, name)[:, lvl:lvl + 1].to(feat_dtype)
                   for name in self.level_signals]
            step_in = torch.cat([enc, eye[lvl].expand(batch, num_levels), selected,
                                 left.unsqueeze(1).to(feat_dtype),
                                 prev.unsqueeze(1).to(feat_dtype), *own], dim=1)
            h, c = self.lstm(step_in, (h, c))
            logit = self.policy_head(h).squeeze(1).to(dtype)
            teacher = actions[:, lvl] if actions is not None else None
            act = self._choose(logit, mode, teacher)
            prob, logp, ent = _bernoulli_terms(logit, act, self.explore)
            if self.hard_budget:
                # torch.where, not -inf logits: the masked branch gets a zero gradient and
                # every value in both branches is finite, so no NaN reaches the backward.
                feasible = costs[lvl] <= left + _BUDGET_TOL
                zero = torch.zeros_like(prob)
                act = torch.where(feasible, act, zero)
                prob = torch.where(feasible, prob, zero)
                logp = torch.where(feasible, logp, zero)
                ent = torch.where(feasible, ent, zero)
            act = act.detach()
            selected = selected + eye[lvl] * act.unsqueeze(1).to(feat_dtype)
            spent = spent + act * costs[lvl]
            prev = act
            out_act.append(act)
            out_p.append(prob)
            out_logp.append(logp)
            out_ent.append(ent)
        return (torch.stack(out_act, 1), torch.stack(out_p, 1), torch.stack(out_logp, 1),
                torch.stack(out_ent, 1))
