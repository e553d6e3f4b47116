"""Build models that live in other OpenMMLab packages (mmdet, mmseg, mmpretrain).

A teacher or student is given either as a plain model dict (``type='FasterRCNN', ...``)
or as a reference to a whole config file::

    dict(cfg_path='mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
         override=dict(roi_head=dict(bbox_head=dict(num_classes=3))))

Each model is built inside its own registry scope, so an mmpretrain student does not
break when the runner's ``default_scope`` is ``mmseg``.

A relative ``cfg_path`` in a config file means the file next to that config, as in
``_base_``: :func:`resolve_relative_cfg_paths` rewrites it when rlpkd's tools load the
config. ``'{{ fileDirname }}/student.py'`` (substituted by mmengine while it reads each
file) says the same to every tool, in a ``_base_`` file too.
"""
from __future__ import annotations

import copy
import os
import os.path as osp
from typing import Any, List, Optional, Tuple

from mmengine.config import Config, ConfigDict
from mmengine.config.utils import MODULE2PACKAGE
from mmengine.registry import DefaultScope
from mmengine.utils import get_installed_path

from rlpkd.registry import MODELS, registered_names


def resolve_model_cfg(cfg: dict,
                      key: str = 'model') -> Tuple[ConfigDict, Optional[str]]:
    """Return ``(model_cfg, scope)`` for a model dict or a ``cfg_path`` reference.

    Args:
        cfg: a model dict, or ``dict(cfg_path=..., override=...)``.
        key: the config key ``cfg`` came from, named in error messages.

    Returns:
        The model config (a ConfigDict, ``override`` merged in) and the registry
        scope to build it in: the model's ``_scope_``, else the referenced file's
        ``default_scope``, else the package prefix of ``cfg_path`` (``mmdet::``).
    """
    if not isinstance(cfg, dict):
        raise TypeError(f'`{key}` must be a dict, got {type(cfg).__name__}')
    cfg = copy.deepcopy(dict(cfg))
    if 'cfg_path' not in cfg:
        if 'type' not in cfg:
            raise KeyError(f'`{key}` needs either `type` or `cfg_path`')
        scope = cfg.pop('_scope_', None)
        return ConfigDict(cfg), scope
    path = cfg.pop('cfg_path')
    override = cfg.pop('override', {})
    if cfg:
        raise KeyError(f'`{key}` with `cfg_path` accepts only `override`, '
                       f'got {sorted(cfg)}')
    try:
        file_cfg = Config.fromfile(config_file(path))
    except (FileNotFoundError, KeyError) as err:
        hint = ''
        if is_relative_cfg_path(path):
            hint = (f' ({path!r} is relative, so it is read from the working directory '
                    f'{os.getcwd()}; rlpkd\'s tools read a relative cfg_path next to the '
                    "config file, and '{{ fileDirname }}/...' does so with any tool)")
        raise FileNotFoundError(f'`{key}.cfg_path`: {err}{hint}') from err
    if 'model' not in file_cfg:
        raise KeyError(f'`{key}.cfg_path` {path} defines no `model`')
    untag_rlpkd_scope(file_cfg)  # a model from an `rlpkd::` base builds in its own scope
    model_cfg = Config(dict(model=file_cfg.model))
    model_cfg.merge_from_dict(dict(model=override), allow_list_keys=True)
    model = copy.deepcopy(model_cfg.model)
    # mmpretrain (and some mmseg / mmdet configs) keep the data preprocessor beside
    # `model`; the runner and `mmpretrain.apis.init_model` merge it in the same way.
    if 'data_preprocessor' not in model and file_cfg.get('data_preprocessor') is not None:
        model['data_preprocessor'] = copy.deepcopy(file_cfg.data_preprocessor)
    scope = model.pop('_scope_', None) or file_cfg.get('default_scope')
    if scope is None and '::' in path:
        scope = path.split('::', 1)[0]
    return model, scope


def config_file(path: str) -> str:
    """Resolve ``'mmdet::faster_rcnn/x.py'`` to the file shipped in that package.

    Plain paths are returned unchanged.
    """
    if '::' not in path:
        return path
    module, rel_path = path.split('::', 1)
    if module not in MODULE2PACKAGE:
        raise KeyError(f'unknown config package {module!r} in {path!r}; known: '
                       f'{sorted(MODULE2PACKAGE)}')
    return osp.join(get_installed_path(MODULE2PACKAGE[module]), '.mim', 'configs', rel_path)


def is_relative_cfg_path(path: Any) -> bool:
    """Whether ``path`` is a relative file path (not ``pkg::x.py``, absolute or a URL)."""
    return (isinstance(path, str) and '::' not in path and '://' not in path
            and not osp.isabs(osp.expanduser(path)))


def resolve_relative_cfg_paths(model: Any, config_path: str,
                               key: str = 'model') -> List[str]:
    """Read every relative ``cfg_path`` under ``model`` next to the config file.

    mmengine resolves a relative ``_base_`` against the folder of the config file; a
    ``cfg_path`` (``model.student`` / ``model.teacher``, or any nested model dict)
    names a config file too, so it gets the same rule. The dicts are changed in place.

    Args:
        model: the loaded config's ``model`` (anything else is left alone).
        config_path: the config file ``model`` was read from.
        key: the config key of ``model``, named in messages.

    Returns:
        The keys whose ``cfg_path`` was rewritten.

    Raises:
        ValueError: the path names one file next to the config and another one in the
            working directory (which mmdet's and mmengine's own tools would read).

    A relative path that exists only in the working directory is kept (it is what it
    meant before, and what every other tool reads); one that exists nowhere is rewritten
    so that the error names the file next to the config.
    """
    changed: List[str] = []
    if not isinstance(model, dict):
        return changed
    config_dir = osp.dirname(osp.abspath(config_path))
    path = model.get('cfg_path')
    if is_relative_cfg_path(path):
        here = osp.normpath(osp.join(config_dir, osp.expanduser(path)))
        in_cwd = osp.abspath(osp.expanduser(path))
        if osp.isfile(here) and osp.isfile(in_cwd) and not osp.samefile(here, in_cwd):
            raise ValueError(
                f'`{key}.cfg_path` {path!r} names two files: {here} (next to the config '
                f'{config_path}, read by rlpkd\'s tools) and {in_cwd} (in the working '
                "directory, read by other tools); write '{{ fileDirname }}/" + path +
                "' or an absolute path")
        if osp.isfile(here) or not osp.isfile(in_cwd):
            model['cfg_path'] = here
            changed.append(f'{key}.cfg_path')
    for name, value in model.items():
        if isinstance(value, dict):
            changed += resolve_relative_cfg_paths(value, config_path, f'{key}.{name}')
    return changed


def is_rlpkd_type(kind: Any, names: Any = frozenset()) -> bool:
    """Whether a config ``type`` is an rlpkd component.

    ``'rlpkd.X'``, a class of the ``rlpkd`` package, or a name in ``names`` (rlpkd's
    registered names, :func:`rlpkd.registry.registered_names`: pass them where a plain
    name means rlpkd's, i.e. where the scope is ``rlpkd``).
    """
    if isinstance(kind, str):
        return kind.startswith('rlpkd.') or kind in names
    return getattr(kind, '__module__', '').split('.')[0] == 'rlpkd'


def is_rlpkd_entry(value: Any, names: Any = frozenset()) -> bool:
    """Whether ``value`` is the config dict of an rlpkd component (hook, metric, loop,
    model, ...): a ``type`` for which :func:`is_rlpkd_type` holds, or ``_scope_='rlpkd'``."""
    return isinstance(value, dict) and 'type' in value and (
        value.get('_scope_') == 'rlpkd' or is_rlpkd_type(value['type'], names))


def untag_rlpkd_scope(cfg: Any, names: Optional[set] = None) -> List[str]:
    """Drop ``_scope_='rlpkd'`` from config dicts whose ``type`` is not rlpkd's.

    mmengine tags every outer ``type`` dict of a ``pkg::`` base with the package's scope
    (``mmdet::`` bases build in ``mmdet``). rlpkd's configs are task configs: their
    datasets, pipelines and metrics are mmdet / mmseg / mmpretrain types for the config's
    ``default_scope``, and rlpkd's own types are spelled ``rlpkd.X``. Inherited as
    ``rlpkd::...``, a toy ``CocoDataset`` would be looked up in scope ``rlpkd`` and not
    found; untagged, it builds in the ``default_scope`` it was written for. A dict of an
    rlpkd component keeps its tag. Changes ``cfg`` in place; returns the keys untagged.
    """
    names = registered_names() if names is None else names
    untagged: List[str] = []

    def walk(value: Any, where: str) -> None:
        if isinstance(value, dict):
            if value.get('_scope_') == 'rlpkd' and 'type' in value \
                    and not is_rlpkd_type(value['type'], names):
                value.pop('_scope_')
                untagged.append(where)
            for key, item in value.items():
                walk(item, f'{where}.{key}' if where else str(key))
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                walk(item, f'{where}.{i}')

    walk(cfg._cfg_dict if isinstance(cfg, Config) else cfg, '')
    return untagged


def build_mm_model(cfg: dict, key: str = 'model'):
    """Build a model of any OpenMMLab package in its own registry scope.

    Args:
        cfg: see :func:`resolve_model_cfg`.
        key: the config key ``cfg`` came from, named in error messages.
    """
    model_cfg, scope = resolve_model_cfg(cfg, key)
    if scope is None:
        return MODELS.build(model_cfg)
    with DefaultScope.overwrite_default_scope(scope):
        model_cfg['_scope_'] = scope
        return MODELS.build(model_cfg)

