"""Checkpoint files that cannot run code, and checkpoint writes that cannot half-happen.

Reading. A ``.pth`` is a pickle, and unpickling can call any function (``os.system``
included). mmengine's loaders call ``torch.load(..., weights_only=False)``, so every
checkpoint read through :class:`mmengine.runner.CheckpointLoader` — ``model.teacher_ckpt``,
``model.selector.policy_init``, ``load_from``, ``--resume``, ``init_cfg`` ``Pretrained``,
the tools' ``CHECKPOINT`` arguments, local files and URLs alike — could run code.
:func:`install` (called when ``rlpkd`` is imported) wraps every scheme registered with the
loader so that, unless the user said the file is trusted, it unpickles with PyTorch's
``weights_only`` unpickler (forced through ``TORCH_FORCE_WEIGHTS_ONLY_LOAD``, which
overrides an explicit ``weights_only=False``; PyTorch >= 2.6 docs, "torch.load") and an
allow-list, :data:`CHECKPOINT_GLOBALS`, of the few non-tensor classes that real mmengine
/ mmdet / mmseg / mmpretrain / rlpkd checkpoints hold (the ``message_hub``'s history
buffers and numpy scalars, arrays and dtypes). Anything else fails before it runs:
:class:`UntrustedCheckpointError` names the file, the config key or flag that gave it
(:func:`checkpoint_keys`), the class it wanted and the opt-in (:func:`trusted_checkpoints`:
``--trust-checkpoint`` on the tools, ``trust_checkpoint = True`` in a config). A file that
is empty, truncated or not a torch checkpoint fails with :class:`CheckpointReadError`
naming the file and key.

Writing. mmengine's local file backend opens the target and writes into it, so a full disk
or a kill mid-write leaves a torn checkpoint under the real name. :func:`install` registers
:class:`AtomicLocalBackend`, which writes to a temporary file beside the target and
renames it over the target only once complete (``os.replace`` is atomic on POSIX): the
previous file of that name survives any failure, and the error names the file.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import os.path as osp
import pickle
import re
import stat
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Union

import numpy as np
import torch
from mmengine.fileio import LocalBackend, register_backend
from mmengine.logging import HistoryBuffer
from mmengine.runner import CheckpointLoader

#: the statistics a pickled :class:`HistoryBuffer` names by ``getattr(HistoryBuffer, name)``
HISTORY_STATISTICS = ('min', 'max', 'mean', 'current')


def history_buffer_method(owner: Any, name: str) -> Callable[..., Any]:
    """``getattr`` as a checkpoint may call it: a :class:`HistoryBuffer` statistic only.

    A ``message_hub`` pickles each history buffer's statistics as ``getattr(HistoryBuffer,
    'mean')``. A general ``getattr`` in the allow-list would reach ``__globals__`` and
    ``__builtins__`` (any code), so this stand-in is what ``builtins.getattr`` unpickles to.

    Raises:
        pickle.UnpicklingError: any other owner or attribute.
    """
    allowed = {*HISTORY_STATISTICS, *getattr(HistoryBuffer, '_statistics_methods', {})}
    if owner is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(f'Unsupported global: GLOBAL builtins.getattr on {owner!r}, '
                                 f'{name!r} (only HistoryBuffer statistics are allowed)')


#: classes a real runner checkpoint of any rlpkd task holds besides tensors and builtins
#: (found by loading checkpoints of det / seg / cls / RL / NAS / MAML runs:
#: ``tests/utils/test_checkpoint_io.py``).
CHECKPOINT_GLOBALS: list[Any] = [
    HistoryBuffer, (history_buffer_method, 'builtins.getattr'),  # message_hub log_scalars
    np.ndarray, np.dtype,                            # HistoryBuffer data, numpy RNG state
    *{type(np.dtype(code)) for code in '?bBhHiIlLqQefdgFDG'},  # numpy >= 1.25 dtype classes
    # how numpy pickles arrays and scalars, under numpy 2's and numpy 1's module paths
    np._core.multiarray._reconstruct, np._core.multiarray.scalar,
    (np._core.multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
    (np._core.multiarray.scalar, 'numpy.core.multiarray.scalar'),
]

TRUST_HINT = ('if you trust this file (a pickle can run any code), pass --trust-checkpoint '
              'to the tool or set `trust_checkpoint = True` in the config')

_trusted: contextvars.ContextVar[bool] = contextvars.ContextVar('rlpkd_trusted', default=False)
_keys: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    'rlpkd_checkpoint_keys', default={})
_last: contextvars.ContextVar[str] = contextvars.ContextVar('rlpkd_last_checkpoint',
                                                            default='the checkpoint')
_FORCE = 'TORCH_FORCE_WEIGHTS_ONLY_LOAD'
_FORCE_NO = 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'


class UntrustedCheckpointError(pickle.UnpicklingError):
    """A checkpoint wants a class outside :data:`CHECKPOINT_GLOBALS`; nothing of it ran."""


class CheckpointReadError(ValueError):
    """A checkpoint file is empty, truncated or not a torch checkpoint."""


@contextlib.contextmanager
def trusted_checkpoints(trusted: bool = True) -> Iterator[None]:
    """Inside the block, checkpoints unpickle with everything they ask for when ``trusted``.

    Off by default; the tools turn it on for ``--trust-checkpoint`` or a config's
    ``trust_checkpoint = True`` (:func:`rlpkd.apis.cli.checkpoint_trust`).
    """
    token = _trusted.set(bool(trusted))
    try:
        yield
    finally:
        _trusted.reset(token)


@contextlib.contextmanager
def checkpoint_keys(keys: Mapping[str, Any]) -> Iterator[None]:
    """Inside the block, an error about file ``path`` names ``keys[path]`` (the config key
    or flag that gave it, e.g. ``{'t.pth': 'model.teacher_ckpt'}``). ``None`` paths are
    ignored; blocks nest (inner names win)."""
    named = {str(path): key for path, key in keys.items() if path is not None}
    token = _keys.set({**_keys.get(), **named})
    try:
        yield
    finally:
        _keys.reset(token)


def describe(filename: str) -> str:
    """``'`KEY` FILE'`` when a key was given for ``filename``, else ``'checkpoint FILE'``."""
    key = _keys.get().get(str(filename))
    return f'`{key}` {filename}' if key else f'checkpoint {filename}'


def last_loaded() -> str:
    """:func:`describe` of the checkpoint read last in this context, for errors raised
    while its tensors are put into a model (``'the checkpoint'`` before any)."""
    return _last.get()


@contextlib.contextmanager
def _weights_only() -> Iterator[None]:
    """Force ``torch.load``'s weights-only unpickler with :data:`CHECKPOINT_GLOBALS`."""
    saved = {name: os.environ.pop(name, None) for name in (_FORCE, _FORCE_NO)}
    os.environ[_FORCE] = '1'
    try:
        with torch.serialization.safe_globals(CHECKPOINT_GLOBALS):
            yield
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value


def _wanted_globals(err: Exception) -> list[str]:
    """The ``module.name`` globals a weights-only load refused, from torch's message."""
    return sorted(set(re.findall(r'GLOBAL ([\w.]+)', str(err))))


def safe_loader(loader: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an mmengine checkpoint loader ``loader(filename, map_location)`` as described in
    the module docstring. Raises :class:`UntrustedCheckpointError`,
    :class:`CheckpointReadError`; ``FileNotFoundError`` passes through."""
    if getattr(loader, 'rlpkd_safe', False):
        return loader

    @functools.wraps(loader)
    def load(filename: str, map_location: Any = None) -> Any:
        trusted = _trusted.get()
        try:
            with contextlib.nullcontext() if trusted else _weights_only():
                checkpoint = loader(filename, map_location)
        except pickle.UnpicklingError as err:
            refused = _refused(filename, err, trusted)
            raise refused from (None if isinstance(refused, UntrustedCheckpointError) else err)
        except (EOFError, zipfile.BadZipFile) as err:
            raise _read_error(filename, err) from err
        except RuntimeError as err:  # torch's zip reader; other RuntimeErrors are not ours
            if not any(sign in str(err) for sign in TORCH_READ_ERRORS):
                raise
            raise _read_error(filename, err) from err
        _last.set(describe(filename))
        return checkpoint

    load.rlpkd_safe = True  # type: ignore[attr-defined]
    return load


#: what torch's messages about an unreadable (truncated, not zip, not torch) file contain
TORCH_READ_ERRORS = ('PytorchStreamReader', 'zip archive', 'magic number')


def _refused(filename: str, err: pickle.UnpicklingError, trusted: bool) -> Exception:
    """The error for a pickle the unpickler refused: untrusted (with the class it wanted,
    when torch names one, and the opt-in) if the weights-only unpickler refused it, else
    unreadable."""
    if trusted or 'Weights only load failed' not in str(err):
        return _read_error(filename, err)
    wanted = ', '.join(_wanted_globals(err)) or 'an object the weights-only unpickler refuses'
    return UntrustedCheckpointError(
        f'{describe(filename)} wants {wanted}, which rlpkd does not unpickle from a '
        f'checkpoint: nothing of the file was run. {TRUST_HINT}')


def _read_error(filename: str, err: Exception) -> CheckpointReadError:
    return CheckpointReadError(f'{describe(filename)} is not a readable checkpoint (empty, '
                               f'truncated or not written by torch.save): {err}')


class AtomicLocalBackend(LocalBackend):
    """mmengine's local backend whose writes replace the target only once complete."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write ``obj`` to ``filepath`` through a temporary file and a rename."""
        _atomic_write(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Write text ``obj`` to ``filepath`` through a temporary file and a rename."""
        _atomic_write(obj.encode(encoding), filepath)


def _atomic_write(data: bytes, filepath: Union[str, Path]) -> None:
    """``data`` into ``filepath``: a temporary file in its folder, fsync, ``os.replace``.

    Raises ``OSError`` naming ``filepath`` (disk full, no permission); the file it would
    have replaced is left as it was and the temporary file is removed.
    """
    folder = osp.dirname(osp.abspath(filepath))
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(filepath)}.', dir=folder)
        os.fchmod(fd, _file_mode(filepath))  # mkstemp's 0600 would hide it from the group
    except OSError as err:
        raise OSError(err.errno, f'cannot write {filepath}: {err.strerror}') from err
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise OSError(err.errno, f'cannot write {filepath} ({err.strerror}); the previous '
                      'file of that name, if any, is unchanged') from err


def _file_mode(filepath: Union[str, Path]) -> int:
    """The mode of the file being replaced, else what ``open`` gives a new file."""
    if osp.exists(filepath):
        return stat.S_IMODE(os.stat(filepath).st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def install() -> None:
    """Make every registered checkpoint scheme safe and local writes atomic (idempotent)."""
    for prefix, loader in list(CheckpointLoader._schemes.items()):
        CheckpointLoader.register_scheme(prefix, safe_loader(loader), force=True)
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
