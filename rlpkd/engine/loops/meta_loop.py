"""MetaTrainLoop: phase 4, MAML of the level-selection policy across distillation tasks.

One ``tools/train.py configs/maml/...`` run meta-trains the selection policy (MAML, Finn
et al. ICML 2017, Algorithm 3, with :class:`rlpkd.rl.MAMLTrainer`) on several
*distillation environments*, each built from a task config (``train_cfg.tasks``: e.g.
the toy det / seg / cls RL-PyramidKD configs) as a training run would build it: its own
teacher, student, RL selector, student optimiser and data. One meta-iteration, per task:

1. the task's policy gets the meta-parameters θ (its own level costs stay);
2. support: ``support_steps`` distillation steps (the student's usual ``train_step``;
   the policy samples the levels, its decisions scored by the measured lookahead reward
   as in the PPO phases) give a rollout;
3. θ' = θ adapted by the inner loop on it (``fast_adapt``) goes into the task's policy;
4. query: ``query_steps`` more distillation steps with θ' give a rollout;

then one outer step, ``MAMLTrainer.meta_update``, on the mean post-adaptation query loss
of all tasks. The students keep training throughout (the environments move).

The runner's model is :class:`rlpkd.models.MetaPolicy` (the meta-policy alone) and its
optimiser is the outer optimiser (``optim_wrapper.optimizer``; a ``param_scheduler`` applies to it,
gradient clipping does not). At the end the meta-policy is written to
``work_dir/<policy_file>`` (:mod:`rlpkd.rl.policy_io`), which
``model.selector.policy_init`` of any task's RL-PyramidKD config starts from.

Resume: checkpoints (``default_hooks.checkpoint`` with ``by_epoch=False``) hold the
meta-policy and outer optimiser (the runner's) and, through :class:`RLCheckpointHook`,
the MAML state, every task's distiller (less a teacher loaded from ``teacher_ckpt``),
student optimiser and data position, and the RNG states.

DDP: every rank builds every task; the task distillers are wrapped like a training run's
model (students' gradients averaged), ``MAMLTrainer`` averages the meta-gradients, and
the meta-policy is checked identical on all ranks after every update. Each rank adapts
on its own support data.
"""
from __future__ import annotations

import copy
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine import dist
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmengine.runner import BaseLoop, Runner
from torch import Tensor, nn

from rlpkd.apis.cli import read_config
from rlpkd.learners import PolicyExperience
from rlpkd.models.meta_policy import MetaPolicy
from rlpkd.models.selectors import RLSelector
from rlpkd.models.utils import config_file
from rlpkd.registry import LOOPS, MODELS
from rlpkd.rl.meta_learning import MAMLTrainer
from rlpkd.rl.policy_io import load_policy_state
from rlpkd.utils import check_identical_over_ranks, mean_over_ranks

from ..hooks.rl_checkpoint_hook import RLCheckpointHook
from .batch_stream import BatchStream


@dataclass
class TaskSpec:
    """One entry of ``train_cfg.tasks``.

    Attributes:
        name: the task's name in logs and checkpoints (``det``, ``seg``, ``cls``).
        config: its RL-PyramidKD config (``rlpkd::...`` or a path); its
            ``model.selector`` must be an ``rlpkd.RLSelector``.
        cfg_options: merged into that config, as ``--cfg-options`` would be, e.g.
            ``dict(model=dict(teacher_ckpt=...), train_dataloader=dict(batch_size=4))``.
        collect_samples: samples of each batch whose decisions are recorded and scored
            (``None``: all; the reward's lookahead costs a student step per sample).
        freeze: student modules frozen throughout (e.g. ``('backbone',)``).
    """

    name: str
    config: str
    cfg_options: dict = field(default_factory=dict)
    collect_samples: Optional[int] = None
    freeze: Sequence[str] = ()


class MetaTask:
    """One distillation environment (:class:`TaskSpec`), built as the runner builds a
    training run's: the distiller (initialised, on the device, DDP-wrapped when
    distributed), the student's optimiser (the config's ``optim_wrapper``; its
    ``param_scheduler`` is not used: the learning rate stays) and the training batches.

    Args:
        runner: the meta-training runner (device, seed, DDP wrapping).
        spec: the task.
        where: the config entry, for errors (``train_cfg.tasks[0]``).
    """

    def __init__(self, runner: Runner, spec: TaskSpec, where: str) -> None:
        self.spec = spec
        cfg = read_config(config_file(spec.config))
        cfg.merge_from_dict(copy.deepcopy(spec.cfg_options))
        with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
            self.distiller = MODELS.build(cfg.model)
            if not isinstance(self.distiller.selector, RLSelector):
                raise TypeError(f'{where}: {spec.config} has a '
                                f'{type(self.distiller.selector).__name__} '
                                'model.selector; meta-training needs an rlpkd.RLSelector')
            self.distiller.init_weights()
            self.distiller.freeze_student(tuple(spec.freeze))
            self.distiller.selector.set_mode('sample')
            self.model = runner.wrap_model(_wrapper_cfg(runner, cfg), self.distiller)
            self.optim_wrapper = build_optim_wrapper(self.distiller,
                                                     copy.deepcopy(cfg.optim_wrapper))
            self.stream = BatchStream(Runner.build_dataloader(cfg.train_dataloader,
                                                              seed=runner.seed),
                                      what='a task dataloader')
        self.where = where

    @property
    def policy(self) -> nn.Module:
        return self.distiller.selector.learnable()

    def set_policy(self, source: nn.Module) -> None:
        """Give the task's policy ``source``'s parameters (its level costs stay)."""
        load_policy_state(self.policy, source.state_dict(), 'the meta-policy',
                          f'{self.where} (model.policy of the meta-training config)')

    def rollout(self, steps: int) -> Tuple[Dict[str, Tensor], Dict[str, float]]:
        """``steps`` distillation steps whose decisions are recorded and scored.

        Returns:
            the PPO rollout ``[1, N]`` of all of them
            (:meth:`~rlpkd.learners.PolicyExperience.rollout`) and
            ``reward``, ``cost`` (means) and the student's last ``loss``.
        """
        self.model.train()
        selector, records = self.distiller.selector, []
        for _ in range(steps):
            selector.request_experience(self.spec.collect_samples)
            log_vars = self.model.train_step(self.stream.next(),
                                             optim_wrapper=self.optim_wrapper)
            records.append(selector.collect_experience())
        experience = PolicyExperience.cat(records)
        stats = dict(reward=float(experience.rewards.mean()),
                     cost=float(experience.used_cost.mean()),
                     loss=float(torch.as_tensor(log_vars['loss']).detach()))
        return experience.rollout(), stats

    def state_dict(self) -> dict:
        """The distiller (a teacher loaded from ``teacher_ckpt`` left out: it is rebuilt
        as it was), the student's optimiser and the data position."""
        skip = 'teacher.' if self.distiller.teacher_ckpt is not None else None
        model = {k: v.detach().cpu() for k, v in self.distiller.state_dict().items()
                 if skip is None or not k.startswith(skip)}
        return dict(model=model, optim_wrapper=self.optim_wrapper.state_dict(),
                    stream=self.stream.state_dict())

    def load_state_dict(self, state: dict) -> None:
        full = self.distiller.state_dict()
        full.update(state['model'])
        self.distiller.load_state_dict(full)
        self.optim_wrapper.load_state_dict(state['optim_wrapper'])
        self.stream.load_state_dict(state['stream'])


def _wrapper_cfg(runner: Runner, cfg) -> Optional[dict]:
    """The task's ``model_wrapper_cfg``, with the run's ``device_ids`` where the run sets
    them (``None`` on CPU-only DDP: :func:`rlpkd.apis.cli.init_cpu_distributed`)."""
    wrapper = copy.deepcopy(cfg.get('model_wrapper_cfg'))
    run_wrapper = runner.cfg.get('model_wrapper_cfg') or {}
    if wrapper is not None and 'device_ids' in run_wrapper:
        wrapper['device_ids'] = run_wrapper['device_ids']
    return wrapper


@LOOPS.register_module()
class MetaTrainLoop(BaseLoop):
    """Meta-trains the selection policy across distillation tasks (module docstring).

    Args:
        runner: the runner; its model is a :class:`MetaPolicy`.
        dataloader: the config's ``train_dataloader``: must be empty (``dict()``;
            mmengine requires one, every task brings its own).
        tasks: :class:`TaskSpec` dicts.
        meta_iters: outer steps (``MAMLTrainer.meta_update`` calls).
        support_steps, query_steps: distillation steps per task and meta-iteration
            recorded for its support / query rollout.
        maml: :class:`MAMLTrainer` arguments: ``inner_lr``, ``num_inner_steps``,
            ``first_order`` and the PPO loss's (``clip_epsilon``, ``value_coef``,
            ``entropy_coef``, ``normalize_advantage``); the outer learning rate is
            ``optim_wrapper.optimizer.lr``.
        policy_file: the meta-policy's file in the work dir, written at the end.

    Logged (``train/...``): ``maml/meta_loss``, ``maml/inner_loss_first`` / ``_last``,
    ``maml/meta_grad_norm``, and per task ``<name>/support_reward`` /
    ``query_reward`` (before / after adaptation), ``_cost`` and ``_loss`` (the
    student's), averaged over ranks.
    """

    def __init__(self, runner: Runner, dataloader, tasks: List[dict], meta_iters: int,
                 support_steps: int = 1, query_steps: int = 1, maml: Optional[dict] = None,
                 policy_file: str = 'meta_policy.pth') -> None:
        super().__init__(runner, None)
        _check_settings(dataloader, tasks, meta_iters, support_steps, query_steps,
                        maml or {})
        meta = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not isinstance(meta, MetaPolicy):
            raise TypeError("MetaTrainLoop needs model=dict(type='rlpkd.MetaPolicy'), got "
                            f'{type(meta).__name__}')
        # built now (Runner.train builds it after the loop): MAML steps the runner's
        runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
        self.maml = MAMLTrainer(meta.policy, optimizer=runner.optim_wrapper.optimizer,
                                **(maml or {}))
        specs = [_spec(entry, i) for i, entry in enumerate(tasks)]
        self.tasks = [MetaTask(runner, spec, f'train_cfg.tasks[{i}]')
                      for i, spec in enumerate(specs)]
        for task in self.tasks:
            task.set_policy(meta.policy)  # fails at build if the policies do not fit
        self.dataloader = self.tasks[0].stream.dataloader  # what the runner inspects
        self.support_steps, self.query_steps = support_steps, query_steps
        self.policy_file = policy_file
        self._max_iters, self._iter, self._epoch = meta_iters, 0, 0
        runner.register_hook(RLCheckpointHook(), priority='LOW')

    @property
    def max_iters(self) -> int:
        return self._max_iters

    @property
    def max_epochs(self) -> int:
        return 1

    @property
    def iter(self) -> int:
        return self._iter

    @property
    def epoch(self) -> int:
        return self._epoch

    def run(self) -> nn.Module:
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')
        while self._iter < self._max_iters:
            self.run_iter()
        self.runner.call_hook('after_train_epoch')
        self.save_policy()
        self.runner.call_hook('after_train')
        return self.runner.model

    def run_iter(self) -> None:
        """One meta-iteration: adapt on every task, then one outer step."""
        self.runner.call_hook('before_train_iter', batch_idx=self._iter, data_batch=None)
        batch, stats = [], {}
        for task in self.tasks:
            entry, task_stats = self.adapt(task)
            batch.append(entry)
            stats.update(task_stats)
        stats.update({f'maml/{k}': v for k, v in self.maml.meta_update(batch).items()})
        summary = check_identical_over_ranks(self.maml.meta_policy.parameters())
        if summary is not None:
            print_log(f'MetaTrainLoop: meta-policy identical on {summary}', logger='current')
        self.runner.call_hook('after_train_iter', batch_idx=self._iter, data_batch=None,
                              outputs=_mean_over_ranks(stats))
        self._iter += 1

    def adapt(self, task: MetaTask) -> Tuple[dict, Dict[str, float]]:
        """Steps 1-4 of the module docstring on ``task``: its ``meta_update`` entry and
        its statistics."""
        task.set_policy(self.maml.meta_policy)
        support, before = task.rollout(self.support_steps)
        task.set_policy(self.maml.fast_adapt(support, policy=task.policy))
        query, after = task.rollout(self.query_steps)
        stats = {f'{task.spec.name}/support_{k}': v for k, v in before.items()}
        stats.update({f'{task.spec.name}/query_{k}': v for k, v in after.items()})
        return dict(support=support, query=query, policy=task.policy), stats

    def save_policy(self) -> None:
        """Write the meta-policy to ``work_dir/policy_file`` (rank 0)."""
        if dist.get_rank() != 0:
            return
        path = osp.join(self.runner.work_dir, self.policy_file)
        self.maml.save_policy(path)
        self.runner.logger.info(f'meta-policy written to {path} (start a task from it '
                                f'with model.selector.policy_init={path})')

    # ------------------------------------------------- declared for RLCheckpointHook
    def learner_state_dict(self) -> dict:
        """The MAML state and every task's (:meth:`MetaTask.state_dict`)."""
        return dict(maml=self.maml.state_dict(),
                    tasks={task.spec.name: task.state_dict() for task in self.tasks})

    def load_learner_state_dict(self, state: dict) -> None:
        names = [task.spec.name for task in self.tasks]
        saved = sorted(state.get('tasks', {}))
        if 'maml' not in state or sorted(names) != saved:
            raise KeyError(f'the checkpoint holds meta-training tasks {saved}, '
                           f'train_cfg.tasks names {sorted(names)}')
        self.maml.load_state_dict(state['maml'])
        for task in self.tasks:
            task.load_state_dict(state['tasks'][task.spec.name])


def _spec(entry: dict, index: int) -> TaskSpec:
    try:
        return TaskSpec(**entry)
    except TypeError as err:
        raise TypeError(f'train_cfg.tasks[{index}]: {err}; a task takes name, config, '
                        'cfg_options, collect_samples, freeze') from err


def _check_settings(dataloader, tasks: List[dict], meta_iters: int, support_steps: int,
                    query_steps: int, maml: dict) -> None:
    """``ValueError`` naming the ``train_cfg`` key of a bad setting."""
    if dataloader:
        raise ValueError('MetaTrainLoop takes every task\'s data from its own config '
                         '(train_cfg.tasks); set train_dataloader = dict()')
    if not tasks:
        raise ValueError('train_cfg.tasks is empty; meta-training needs at least one task')
    names = [entry.get('name') for entry in tasks]
    if len(set(names)) != len(names):
        raise ValueError(f'train_cfg.tasks: task names must be unique, got {names}')
    for key, value in (('meta_iters', meta_iters), ('support_steps', support_steps),
                       ('query_steps', query_steps)):
        if value < 1:
            raise ValueError(f'train_cfg.{key}={value}; it must be >= 1')
    if 'outer_lr' in maml:
        raise ValueError('train_cfg.maml.outer_lr: the outer learning rate is '
                         'optim_wrapper.optimizer.lr')


def _mean_over_ranks(stats: Dict[str, float]) -> Dict[str, float]:
    names = list(stats)
    values = mean_over_ranks([torch.as_tensor(stats[k], dtype=torch.float32) for k in names])
    return {k: float(v) for k, v in zip(names, values)}
