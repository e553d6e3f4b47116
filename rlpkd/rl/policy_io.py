"""Policy files: save a selection policy, and start a policy from a saved one.

``model.selector.policy_init=PATH`` (:class:`rlpkd.models.selectors.RLSelector`) starts
a task's policy from any of

- a *policy file* ``{'policy': state_dict}``, written by :func:`save_policy` (through
  :meth:`rlpkd.rl.MAMLTrainer.save_policy`; a meta-training run writes
  ``work_dir/meta_policy.pth``, :class:`rlpkd.engine.loops.MetaTrainLoop`);
- an mmengine checkpoint (``{'state_dict': ...}``) of an RL-PyramidKD run (the policy's
  tensors under ``selector.policy.``) or of a meta-training run (under ``policy.``, the
  :class:`rlpkd.models.MetaPolicy` model).

Only parameters travel: a policy's ``level_costs`` are a non-persistent buffer
(:class:`rlpkd.rl.policy.PolicyNetwork`), so the receiving task keeps its own costs. A
policy fits a task whose state and pyramid have its sizes (state 1542 for 4 levels,
whatever the task: :mod:`rlpkd.rl.state`) and whose ``model.selector.policy`` has its
``hidden_dim`` and ``use_lstm``; anything else fails with a message naming the key.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Dict, List, Mapping

import torch
from mmengine.runner import CheckpointLoader
from torch import Tensor, nn

from rlpkd.utils.checkpoint_io import checkpoint_keys

#: the key of a policy file's state_dict
POLICY_KEY = 'policy'
#: where a checkpoint's ``state_dict`` keeps a policy: RL-PyramidKD runs, meta-training runs
CHECKPOINT_PREFIXES = ('selector.policy.', 'policy.')


def save_policy(policy: nn.Module, path: str) -> None:
    """Write ``policy``'s ``state_dict`` (on CPU) to ``path`` as a policy file
    ``{'policy': state_dict}``; missing folders are created."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in policy.state_dict().items()}
    torch.save({POLICY_KEY: state}, path)


def read_policy_state(path: str, key: str) -> Dict[str, Tensor]:
    """The policy ``state_dict`` stored in ``path`` (any format of the module docstring).

    Args:
        path: local file or URL.
        key: the config key that named ``path``, for the error messages.

    Raises:
        FileNotFoundError: no such local file.
        ValueError: the file holds no policy.
    """
    if '://' not in path and not osp.isfile(path):
        raise FileNotFoundError(f'`{key}`: no such file: {path}')
    with checkpoint_keys({path: key}):
        checkpoint = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    if not isinstance(checkpoint, Mapping):
        raise ValueError(f'`{key}`: {path} holds a {type(checkpoint).__name__}, not a '
                         'policy file or checkpoint')
    if isinstance(checkpoint.get(POLICY_KEY), Mapping):
        return dict(checkpoint[POLICY_KEY])
    state = checkpoint.get('state_dict')
    if isinstance(state, Mapping):
        for prefix in CHECKPOINT_PREFIXES:
            found = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
            if found:
                return found
    raise ValueError(
        f'`{key}`: {path} holds no policy: expected a policy file '
        f"{{'{POLICY_KEY}': state_dict}} or an mmengine checkpoint whose state_dict has "
        f'{" or ".join(p + "*" for p in CHECKPOINT_PREFIXES)} keys; its keys are '
        f'{sorted(checkpoint)[:8]}')


def mismatches(policy: nn.Module, state: Mapping[str, Tensor]) -> List[str]:
    """How ``state`` does not fit ``policy``'s ``state_dict``: missing and unexpected
    keys, and ``name: given [shape], policy [shape]`` for each differing shape."""
    own = policy.state_dict()
    problems = [f'missing {k}' for k in own if k not in state]
    problems += [f'unexpected {k}' for k in state if k not in own]
    problems += [f'{k}: given {list(state[k].shape)}, policy {list(own[k].shape)}'
                 for k in own if k in state and state[k].shape != own[k].shape]
    return problems


def load_policy_state(policy: nn.Module, state: Mapping[str, Tensor], source: str,
                      key: str) -> None:
    """Copy ``state`` into ``policy`` (strict); ``ValueError`` naming ``key`` and
    ``source`` if it does not fit. ``policy`` keeps its ``level_costs`` and its
    parameters' ``requires_grad``."""
    problems = mismatches(policy, state)
    if problems:
        shown = '; '.join(problems[:6]) + ('; ...' if len(problems) > 6 else '')
        raise ValueError(f'`{key}`: the policy in {source} does not fit this task\'s '
                         f'policy ({len(problems)} problem(s): {shown}); state size, number '
                         'of levels, hidden_dim and use_lstm must match')
    policy.load_state_dict(state, strict=True)


def load_policy(policy: nn.Module, path: str, key: str) -> None:
    """Start ``policy`` from the policy stored in ``path`` (:func:`read_policy_state`,
    :func:`load_policy_state`); errors name ``key``."""
    load_policy_state(policy, read_policy_state(path, key), path, key)
