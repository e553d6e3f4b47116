"""Build models that live in other OpenMMLab packages (mmdet, mmseg, mmpretrain).

A teacher or student is given either as a plain model dict (``type='FasterRCNN', ...``)
or as a reference to a whole config file::

    dict(cfg_path='mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
         override=dict(roi_head=dict(bbox_head=dict(num_classes=3))))

Each model is built inside its own registry scope, so an mmpretrain student does not
break when the runner's ``default_scope`` is ``mmseg``.
"""
from __future__ import annotations

import copy
import os.path as osp
from typing import Optional, Tuple

from mmengine.config import Config, ConfigDict
from mmengine.config.utils import MODULE2PACKAGE
from mmengine.registry import DefaultScope
from mmengine.utils import get_installed_path

from rlpkd.registry import MODELS


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
        raise FileNotFoundError(f'`{key}.cfg_path`: {err}') from err
    if 'model' not in file_cfg:
        raise KeyError(f'`{key}.cfg_path` {path} defines no `model`')
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

