"""Taps: where a model's feature pyramid is read from.

A tap names a submodule and, when that module returns a tuple (an FPN neck, a
ResNet backbone with ``out_indices``), which outputs are the levels::

    dict(module='neck', indices=(0, 1, 2, 3))                   # P2..P5 of an FPN
    dict(modules=('backbone.layer1', 'backbone.layer2'))        # one level per module

Features are observed with forward hooks during the model's own forward pass, so
reading a pyramid never runs any part of the network twice. :func:`catch` is the one
hook mechanism: :class:`PyramidTap` uses it for the levels, learned selectors for what
else they observe (a global feature, the pyramid module's inputs).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from torch import Tensor, nn

#: what :func:`catch` keeps of a module call: its output, or its positional inputs
WHAT = ('output', 'inputs')


@contextmanager
def catch(points: Mapping[str, Tuple[nn.Module, str]]) -> Iterator[Dict[str, object]]:
    """While active, record what runs through some modules.

    Args:
        points: ``{label: (module, 'output' | 'inputs')}``.

    Yields:
        a dict that holds, under each label, the module's last output (as returned:
        a tensor or a tuple) or its positional inputs (a tuple); a module that did not
        run leaves its label absent. The hooks are removed when the block ends.
    """
    observed: Dict[str, object] = {}
    handles = []
    for label, (module, what) in points.items():
        if what not in WHAT:
            raise ValueError(f'catch: {label!r} asks for {what!r}; expected one of {WHAT}')
        if what == 'output':
            handles.append(module.register_forward_hook(_output_keeper(observed, label)))
        else:
            handles.append(module.register_forward_pre_hook(_inputs_keeper(observed, label)))
    try:
        yield observed
    finally:
        for handle in handles:
            handle.remove()


def _output_keeper(observed: dict, label: str):
    def hook(module, args, output):
        observed[label] = output
    return hook


def _inputs_keeper(observed: dict, label: str):
    def hook(module, args):
        observed[label] = args
    return hook


def _replacer(by_index: Dict[Optional[int], Tensor]):
    def hook(module, args, output):
        if None in by_index:
            return by_index[None]
        output = list(output)
        for index, feat in by_index.items():
            output[index] = feat
        return tuple(output)
    return hook


class PyramidTap:
    """Records the pyramid levels of ``model`` while :meth:`record` is active.

    Args:
        model: the network to read from (not owned: the tap is no submodule).
        module: name of one submodule whose output holds all levels.
        indices: which elements of ``module``'s output are the levels, in order.
        modules: alternatively, one submodule name per level (output used whole).
        key: config key of this tap, named in error messages.
    """

    def __init__(self, model: nn.Module, module: Optional[str] = None,
                 indices: Optional[Sequence[int]] = None,
                 modules: Optional[Sequence[str]] = None, key: str = 'tap') -> None:
        if (module is None) == (modules is None):
            raise KeyError(f'`{key}` needs exactly one of `module` (+ `indices`) or `modules`')
        if module is not None:
            if indices is None:
                raise KeyError(f'`{key}.indices` is required with `{key}.module`')
            self.sources: List[Tuple[str, Optional[int]]] = [(module, i) for i in indices]
        else:
            self.sources = [(name, None) for name in modules]
        self.key = key
        named = dict(model.named_modules())
        for name, _ in self.sources:
            if name not in named:
                children = ', '.join(n for n, _ in model.named_children())
                raise KeyError(f'`{key}`: {type(model).__name__} has no submodule {name!r} '
                               f'(its top-level children: {children})')
        self._modules = {name: named[name] for name, _ in self.sources}

    @property
    def num_levels(self) -> int:
        return len(self.sources)

    @contextmanager
    def record(self) -> Iterator[List[Tensor]]:
        """Yield a list that holds the L level features ``[B, C_l, H_l, W_l]`` on exit.

        The list is filled when the block ends; an incomplete pass raises.
        """
        levels: List[Tensor] = []
        with catch({name: (mod, 'output') for name, mod in self._modules.items()}) as outputs:
            yield levels
        levels.extend(self._select(outputs))

    @contextmanager
    def substitute(self, levels: Mapping[int, Tensor]) -> Iterator[None]:
        """While active, the model's forward passes see ``levels`` ``{level index:
        [B, C_l, H_l, W_l]}`` in place of those pyramid levels (forward hooks that return
        a modified output; with one module per level the replacement propagates to
        everything after it, with ``module`` + ``indices`` to what reads the output)."""
        by_module: Dict[str, Dict[Optional[int], Tensor]] = {}
        for level, feat in levels.items():
            name, index = self.sources[level]
            by_module.setdefault(name, {})[index] = feat
        handles = [self._modules[name].register_forward_hook(_replacer(by_index))
                   for name, by_index in by_module.items()]
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()

    @property
    def module_name(self) -> Optional[str]:
        """The one module all levels come from (``None`` when they come from several)."""
        names = {name for name, _ in self.sources}
        return next(iter(names)) if len(names) == 1 else None

    @property
    def indices(self) -> List[Optional[int]]:
        """Per level, the index into the module's output (``None``: the output itself)."""
        return [index for _, index in self.sources]

    def _select(self, outputs: dict) -> List[Tensor]:
        levels = []
        for name, index in self.sources:
            if name not in outputs:
                raise RuntimeError(f'`{self.key}`: module {name!r} did not run in the forward '
                                   'pass, so no pyramid level was recorded from it')
            out = outputs[name]
            if index is not None:
                if not isinstance(out, (tuple, list)) or not -len(out) <= index < len(out):
                    size = len(out) if isinstance(out, (tuple, list)) else 'a single tensor'
                    raise IndexError(f'`{self.key}.indices`: {index} is out of range for the '
                                     f'output of {name!r} ({size})')
                out = out[index]
            if not isinstance(out, Tensor) or out.dim() != 4:
                raise TypeError(f'`{self.key}`: level from {name!r} (index {index}) is not a '
                                f'[B, C, H, W] tensor')
            levels.append(out)
        return levels
