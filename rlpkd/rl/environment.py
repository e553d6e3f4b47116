"""The level-selection MDP on real teacher / student pyramids: the one environment.

Episode: one sample. Its L include/skip decisions (one per level) are made by the
policy level by level (:class:`rlpkd.rl.policy.PolicyNetwork`); the environment scores
the finished selection with :class:`rlpkd.rl.reward.LookaheadReward` (measured
improvement of the student + λ · cost saved) and the episode ends.

:class:`ParallelDistillationEnv` builds the state builder, the cost model and the
reward once. Training uses it through :class:`rlpkd.models.selectors.RLSelector`
(:meth:`~ParallelDistillationEnv.observe` during the student's own forward pass,
:meth:`~ParallelDistillationEnv.states`, :meth:`~ParallelDistillationEnv.score`);
``reset`` / ``step`` (the prototype's API) run the same methods on a batch of images,
and :class:`rlpkd.compat.DistillationEnvironment` on one image.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from rlpkd.pyramid.cost_model import LevelCostModel
from rlpkd.pyramid.functional import TaskInputs
from rlpkd.pyramid.taps import catch
from rlpkd.utils import eval_mode

from .reward import LookaheadReward, tree_detach, tree_slice
from .signals import StateSignals
from .state import PROTOTYPE_FIELDS, StateBuilder, StateLayout

if TYPE_CHECKING:
    from rlpkd.pyramid.pair import PyramidPair


@dataclass
class Observation:
    """What scoring a selection needs of a batch, kept after the student's step.

    Attributes:
        inputs: the pyramid module's positional inputs (batched, detached).
        teacher_feats: L teacher levels ``[B, C'_l, H_l, W_l]`` (detached); ``None``
            until attached when the decision was made before the teacher ran.
        budget: ``[B]`` cost budgets.
        task: the images and data samples (for the task reward signals), or ``None``.
    """

    inputs: tuple
    teacher_feats: Optional[List[Tensor]]
    budget: Tensor
    task: Optional[TaskInputs] = None

    def head(self, k: int) -> 'Observation':
        """The first ``k`` samples, detached."""
        teacher = None if self.teacher_feats is None else \
            [t[:k].detach() for t in self.teacher_feats]
        return Observation(tree_detach(tree_slice(self.inputs, 0, k)), teacher,
                           self.budget[:k].detach(),
                           None if self.task is None else self.task.head(k))


def as_pair(source, student: Optional[nn.Module] = None,
            pair_kwargs: Optional[dict] = None) -> 'PyramidPair':
    """The :class:`rlpkd.models.PyramidPair` an environment runs on: ``source`` itself,
    the pair of a ``PyramidDistiller``, or, with ``student``, a pair of the built models
    ``(teacher=source, student)`` (:meth:`PyramidPair.from_models` with ``pair_kwargs``)."""
    from rlpkd.pyramid.pair import PyramidPair
    if student is not None:
        return PyramidPair.from_models(source, student, **(pair_kwargs or {}))
    if pair_kwargs:
        raise TypeError(f'{sorted(pair_kwargs)} only apply to the (teacher, student) form')
    if isinstance(source, PyramidPair):
        return source
    pair = getattr(source, 'pair', None)
    if isinstance(pair, PyramidPair):
        return pair
    raise TypeError('expected a PyramidPair, a PyramidDistiller or (teacher, student) '
                    f'models, got {type(source).__name__}')


def as_action(action) -> Tensor:
    """A level mask as a tensor; a ``select_action`` result tuple gets a clear error."""
    if isinstance(action, tuple):
        raise TypeError('step() takes the level mask; PolicyNetwork.select_action returns '
                        '(action, log_prob, value): pass its first element')
    return torch.as_tensor(action)


class ParallelDistillationEnv(nn.Module):
    """The MDP over every sample of a batch at once.

    A module only for its state builder's fixed projections (buffers: they move with
    the model and are saved in checkpoints); it holds no trainable parameter.

    Both forms of the prototype work: ``ParallelDistillationEnv(teacher, student,
    num_envs=8, lambda_tradeoff=0.5)`` on two built mm models (pyramid: their necks'
    first four outputs, or backbone stages where there is no neck; see
    :meth:`rlpkd.models.PyramidPair.from_models`), and ``ParallelDistillationEnv(distiller,
    lambda_tradeoff=0.5)`` on a built ``PyramidDistiller`` (or its ``PyramidPair``).

    Args:
        teacher: the teacher model, or a ``PyramidDistiller`` / ``PyramidPair``.
        student: the student model (the ``(teacher, student)`` form only).
        num_envs: the batch size :meth:`reset` must get (``None``: any).
        lambda_tradeoff: λ, weight of the saved cost in the reward.
        budget: cost budget as a fraction of the all-level cost (1 = unconstrained).
        global_module: student module whose last output is the state's global feature
            (``model.selector.global_module``).
        reward_signal: ``'gap'``, ``'task'``, ``'alignment'``, ``'batch_alignment'`` or
            ``'stitching'``
            (:class:`LookaheadReward` ``signal``).
        state_fields: the state's selectable fields (:mod:`rlpkd.rl.state`; default
            the prototype's ``('global', 'levels', 'gap')``; the signals
            ``'discrepancy'``, ``'reliability'``: :mod:`rlpkd.rl.signals`).
        pair_kwargs: ``pyramid``, ``level_loss``, ``connector``, ``probe_size`` of
            :meth:`~rlpkd.models.PyramidPair.from_models` (``(teacher, student)`` form).
        **reward_kwargs: ``lookahead_lr``, ``over_budget_penalty``,
            ``lookahead_max_drop``, ``lookahead_chunk`` of :class:`LookaheadReward`.
    """

    def __init__(self, teacher, student: Optional[nn.Module] = None,
                 num_envs: Optional[int] = None, lambda_tradeoff: float = 0.5,
                 budget: float = 1.0, global_module: str = 'backbone',
                 reward_signal: str = 'gap',
                 state_fields: Sequence[str] = PROTOTYPE_FIELDS,
                 pair_kwargs: Optional[dict] = None, **reward_kwargs) -> None:
        super().__init__()
        if num_envs is not None and num_envs < 1:
            raise ValueError(f'num_envs must be >= 1 (or None: any batch), got {num_envs}')
        pair = as_pair(teacher, student, pair_kwargs)
        key = 'model.selector.global_module'
        self.pair = pair
        self.num_envs = num_envs
        self.budget = budget
        self.cost_model = LevelCostModel.from_pair(pair)
        self.reward = LookaheadReward(pair, self.cost_model, lambda_tradeoff,
                                      signal=reward_signal, **reward_kwargs)
        # a plain dict: the student's modules must not become submodules of the env
        self.observation_points = {
            'global': (pair.student_module(global_module, key), 'output'),
            'inputs': (self.reward.pyramid_module, 'inputs')}
        self.signals = StateSignals(pair, state_fields)
        self.state_builder = StateBuilder([int(s[0]) for s in pair.probe.student],
                                          pair.probe.module_channels(global_module, key),
                                          fields=state_fields)
        device = next(pair.student.parameters()).device
        self.state_builder.to(device)
        self.signals.to(device)
        self._episode: Optional[dict] = None

    @property
    def level_names(self) -> Tuple[str, ...]:
        return self.pair.level_names

    @property
    def layout(self) -> StateLayout:
        return self.state_builder.layout

    @property
    def state_dim(self) -> int:
        return self.state_builder.state_dim

    # ------------------------------------------------------------ training path
    @contextmanager
    def observe(self) -> Iterator[Dict[str, object]]:
        """While active, catch the student's global feature (``'global'``) and the
        pyramid module's inputs (``'inputs'``) from its forward pass."""
        with catch(self.observation_points) as observed:
            yield observed

    @torch.no_grad()
    def states(self, observed: Dict[str, object], student_feats: List[Tensor],
               teacher_feats: Optional[List[Tensor]], budget: Optional[Tensor] = None,
               task: Optional[TaskInputs] = None) -> Tuple[Tensor, Observation]:
        """``(states [B, S], observation)`` of a batch whose student forward ran inside
        :meth:`observe`; ``budget`` ``[B]`` defaults to the env's budget; ``task``: the
        batch's images and data samples, kept for a task-signal reward (and read by the
        ``'reliability'`` state signal). Without ``teacher_feats`` (a decision before the
        teacher runs) the state's gap is 0."""
        if 'global' not in observed or 'inputs' not in observed:
            raise RuntimeError('the student forward pass did not run the global module '
                               'and the pyramid module inside observe()')
        glob = observed['global']
        glob = glob[-1] if isinstance(glob, (tuple, list)) else glob
        student = [f.detach() for f in student_feats]
        if budget is None:
            budget = student[0].new_full((student[0].shape[0],), float(self.budget),
                                         dtype=torch.float32)
        gap = budget.new_zeros(budget.shape) if teacher_feats is None else \
            self.pair.pooled_gap(student, teacher_feats)
        signals = self.signals(student, teacher_feats, task)
        states = self.state_builder(glob, student, gap, budget, signals=signals)
        task = task if self.reward.needs_task else None
        teacher = None if teacher_feats is None else list(teacher_feats)
        return states, Observation(observed['inputs'], teacher, budget, task)

    def score(self, observation: Observation, action: Tensor,
              baseline_action: Optional[Tensor] = None, flips: bool = False
              ) -> Tuple[Tensor, dict]:
        """``(reward [B], info)`` of ``action`` ``[B, L]`` on an observed batch; ``info``:
        ``improvement``, ``used_cost``, ``saved_cost`` ``[B]`` (and ``baseline_reward``
        of ``baseline_action`` ``[B, L]``, and with ``flips`` the one-level flips'
        ``flip_rewards`` ``[B, L]``, all scored with the same virtual-step size)."""
        with torch.no_grad(), torch.autocast(action.device.type, enabled=False):
            return self.reward.score(observation.inputs, observation.teacher_feats, action,
                                     observation.budget, baseline_action, observation.task,
                                     flips)

    # ------------------------------------------------------------ prototype API
    @torch.no_grad()
    def reset(self, inputs: Tensor, budget: Optional[Tensor] = None,
              data_samples: Optional[list] = None) -> Tensor:
        """Observe a batch of preprocessed images ``[B, 3, H, W]``; return states ``[B, S]``
        (``data_samples``: their ground truth, needed by the task reward signals).

        Both networks and the connectors run in eval mode (no running statistic changes,
        and a batch gives each sample the state it gets alone).
        """
        if self.num_envs is not None and inputs.shape[0] != self.num_envs:
            raise ValueError(f'num_envs={self.num_envs}, but reset() got a batch of '
                             f'{inputs.shape[0]} images')
        with eval_mode(self.pair.student, self.pair.teacher, self.pair.connectors):
            with self.observe() as observed:
                student, teacher = self.pair.extract(inputs)
            task = None if data_samples is None else TaskInputs(inputs, list(data_samples))
            states, observation = self.states(observed, student, teacher, budget, task)
            ones = inputs.new_ones(inputs.shape[0], self.pair.num_levels)
            gap = self.pair.pair_losses(student, teacher, ones).sum(dim=1)
        self._episode = dict(observation=observation, gap=gap, states=states)
        return states

    def step(self, action: Tensor) -> Tuple[Tensor, Tensor, Tensor, dict]:
        """Score the selections ``action`` ``[B, L]`` in {0, 1}.

        Returns ``(next_state [B, S], reward [B], done [B], info)``. An episode is one
        complete selection of the L levels, so every step ends it (``done`` all ones);
        a further ``step`` starts a new episode on the same samples (the state is the
        same: the environment never changes the student), until :meth:`reset` observes
        new ones. ``info``: ``selected_layers`` (names per sample), ``distill_loss``
        ``[B]`` (all-level loss before the step), ``used_cost`` / ``saved_cost`` /
        ``improvement`` ``[B]``.
        """
        if self._episode is None:
            raise RuntimeError('call reset() before step()')
        episode = self._episode
        action = as_action(action)
        if action.shape != (len(episode['gap']), self.pair.num_levels):
            raise ValueError(f'action must be [{len(episode["gap"])}, '
                             f'{self.pair.num_levels}] in {{0, 1}}, got {tuple(action.shape)}')
        reward, info = self.score(episode['observation'], action)
        info.update(selected_layers=self.selected_layers(action), distill_loss=episode['gap'])
        return episode['states'], reward, torch.ones_like(reward), info

    def selected_layers(self, action: Tensor) -> List[List[str]]:
        return [[n for n, a in zip(self.level_names, row) if a > 0] for row in action.tolist()]
