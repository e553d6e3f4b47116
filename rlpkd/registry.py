"""Registries of rlpkd: children of mmengine's root registries, scope ``rlpkd``.

A config of any OpenMMLab project reaches these components with
``custom_imports = dict(imports=['rlpkd'])`` and ``type='rlpkd.PyramidDistiller'``
(or a plain ``type='PyramidDistiller'`` when ``default_scope = 'rlpkd'``).
"""
from mmengine.config.utils import MODULE2PACKAGE
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry

# Make ``rlpkd::faster_rcnn/xxx.py`` a config path, like ``mmdet::``: mmengine maps
# the prefix to an installed package and reads ``<package>/.mim/configs`` (setup.py ships
# them, with an empty ``.mim/model-index.yml``: rlpkd has no model zoo). mmengine parses
# ``_base_`` before a config's ``custom_imports``, so ``rlpkd::`` in ``_base_`` needs rlpkd
# imported first (rlpkd's tools do it); ``model.*.cfg_path`` works with any tool.
MODULE2PACKAGE.setdefault('rlpkd', 'rlpkd')

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='rlpkd',
                  locations=['rlpkd.models'])
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, scope='rlpkd',
                 locations=['rlpkd.engine.loops'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='rlpkd',
                 locations=['rlpkd.engine.hooks'])
#: learners of learned selectors (PPO; the NAS and MAML learners): rlpkd's own registry,
#: mmengine has no root for them; built by the phase loop from ``train_cfg.learners``
LEARNERS = Registry('learner', scope='rlpkd', locations=['rlpkd.learners'])
METRICS = Registry('metric', parent=MMENGINE_METRICS, scope='rlpkd',
                   locations=['rlpkd.evaluation'])
#: data samplers (the held-out split of the NAS search configs)
DATA_SAMPLERS = Registry('data sampler', parent=MMENGINE_DATA_SAMPLERS, scope='rlpkd',
                         locations=['rlpkd.nas'])


def registered_names() -> set:
    """Every name registered in rlpkd's own registries (what ``type='X'`` finds in scope
    ``rlpkd``), their modules imported first."""
    names = set()
    for registry in (MODELS, LOOPS, HOOKS, LEARNERS, METRICS, DATA_SAMPLERS):
        registry.import_from_location()
        names.update(registry.module_dict)
    return names
