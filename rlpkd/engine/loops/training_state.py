"""A copy of the student's training state, to train several candidates from one point.

EA-LS trains every candidate from the warm-up state (Real et al. 2019 train each
architecture from scratch; a proxy training from a shared warm-up is the usual cheaper
form). :func:`capture` copies what training changes — the distiller's state except the
frozen teacher and the selector (the search sets it), the optimiser state (with its
learning rates) and every parameter scheduler's state — to CPU (it travels in
checkpoints); :func:`restore` puts it back in place, so DDP's parameters stay the same
tensors.
"""
from __future__ import annotations

import copy
from typing import Any, Dict, List

import torch
from mmengine.model import is_model_wrapper

#: distiller state-dict prefixes a candidate's training does not change (or the search sets)
NOT_TRAINED = ('teacher.', 'selector.')


def cpu_copy(tree: Any) -> Any:
    """A deep copy of ``tree`` (dicts, lists, tuples) with its tensors cloned to CPU."""
    if isinstance(tree, torch.Tensor):
        return tree.detach().cpu().clone()
    if isinstance(tree, dict):
        return {k: cpu_copy(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(cpu_copy(v) for v in tree)
    return copy.deepcopy(tree)


def schedulers(runner) -> List[Any]:
    """The runner's parameter schedulers as one list (a dict of lists: by sorted key)."""
    found = runner.param_schedulers or []
    if isinstance(found, dict):
        return [s for key in sorted(found) for s in found[key]]
    return list(found)


def unwrapped(runner) -> torch.nn.Module:
    return runner.model.module if is_model_wrapper(runner.model) else runner.model


def capture(runner) -> Dict[str, Any]:
    """``{'model', 'optimizer', 'schedulers'}``: CPU copies of the training state."""
    model = {k: v for k, v in unwrapped(runner).state_dict().items()
             if not k.startswith(NOT_TRAINED)}
    return dict(model=cpu_copy(model), optimizer=cpu_copy(runner.optim_wrapper.state_dict()),
                schedulers=[cpu_copy(s.state_dict()) for s in schedulers(runner)])


def restore(runner, state: Dict[str, Any]) -> None:
    """Put a :func:`capture` back: model tensors copied in place, optimiser and
    schedulers loaded."""
    current = unwrapped(runner).state_dict()
    missing = sorted(set(state['model']) - set(current))
    if missing:
        raise KeyError(f'the captured training state has tensors the model lacks: '
                       f'{missing[:5]}')
    with torch.no_grad():
        for key, value in state['model'].items():
            current[key].copy_(value)
    runner.optim_wrapper.load_state_dict(copy.deepcopy(state['optimizer']))
    found = schedulers(runner)
    if len(found) != len(state['schedulers']):
        raise ValueError(f'the captured training state has {len(state["schedulers"])} '
                         f'parameter schedulers, the runner {len(found)}')
    for scheduler, saved in zip(found, state['schedulers']):
        scheduler.load_state_dict(copy.deepcopy(saved))
