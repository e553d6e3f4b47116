"""A full-scale config made to run offline, on generated toy data, for a few iterations.

What changes (everything else, the architectures, the train loop, optimiser, schedulers
and hooks, stays the config's own):

- data: the config's dataset type and pipeline read a toy dataset of
  :mod:`rlpkd.datasets` (``generate_toy_coco`` / ``_ade`` / ``_folder``); the pipeline's
  ``scale`` / ``crop_size`` are multiplied by ``factor``; batches of 2, one batch an
  epoch (a held-out split sampler keeps every image), no worker processes;
- models: no teacher checkpoint (``model.teacher_ckpt=None``), no pretrained backbone
  (nothing is downloaded), the seg preprocessor pads to the scaled crop; optionally fewer
  RoIs sampled per image by the R-CNN heads;
- loop: ``iters`` iterations, all in the learning phase of a phase / search loop (the
  other phases get none); a retrain reads a search result written for it;
- no validation, test or checkpoint.

``tests/configs/test_full_scale.py`` trains every full-scale config so, one iteration
on small images; ``benchmarks/full_size_step.py`` times the full-size step (``factor=1``).
"""
from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

from mmengine.config import Config

from rlpkd.datasets import CLASSES
from rlpkd.models.utils import resolve_model_cfg

#: images of a shrunk training loader (one batch); a held-out split sampler keeps all
LOADER_IMAGES = 2


def scaled(value: Any, factor: float) -> Any:
    """``value`` (an int, or a list / tuple of them, e.g. a ``(w, h)`` scale in pixels)
    times ``factor``, rounded, at least 1; anything else (a float, None) unchanged."""
    if isinstance(value, (list, tuple)):
        return type(value)(scaled(v, factor) for v in value)
    return max(int(round(value * factor)), 1) if isinstance(value, int) else value


def shrink_dataset(dataset: dict, task: str, root: Path, factor: float) -> None:
    """Point ``dataset`` (a dataset config, changed in place) at the toy data of ``task``
    under ``root`` and scale the ``scale`` / ``crop_size`` of its pipeline by ``factor``.

    Args:
        dataset: the config of an mmdet ``CocoDataset`` (``task`` ``'det'`` / ``'ins'``:
            ``generate_toy_coco``'s layout), an mmseg ``ADE20KDataset`` (``'seg'``,
            ``generate_toy_ade``'s) or an mmpretrain ``ImageNet`` (``'cls'``,
            ``generate_toy_folder``'s: the dataset's own folder layout).
        task: ``'det'``, ``'ins'``, ``'seg'`` or ``'cls'``.
        root: the toy dataset's root folder.
        factor: the image-size factor (``1``: sizes unchanged).
    """
    dataset['data_root'] = f'{root}/'
    if task in ('det', 'ins'):
        dataset.update(ann_file='annotations/instances_train.json',
                       data_prefix=dict(img='train/'), metainfo=dict(classes=CLASSES))
    elif task == 'seg':
        dataset.update(img_suffix='.png', data_prefix=dict(
            img_path='images/training', seg_map_path='annotations/training'))
    for step in dataset['pipeline']:
        for key in ('scale', 'crop_size'):
            if key in step:
                step[key] = scaled(step[key], factor)


def shrink_loader(loader: dict, task: str, root: Path, factor: float) -> None:
    """A training loader (config, changed in place) of one batch of 2 toy images, no
    worker processes; its dataset as :func:`shrink_dataset`. A held-out split sampler
    (``rlpkd.HeldOutSplitSampler``) keeps every image, for its two splits."""
    loader.update(batch_size=2, num_workers=0, persistent_workers=False)
    shrink_dataset(loader['dataset'], task, root, factor)
    if loader['sampler']['type'] != 'rlpkd.HeldOutSplitSampler':
        loader['dataset']['indices'] = LOADER_IMAGES


def fixed_image_size(dataset: dict, size: Sequence[int]) -> None:
    """Every ``Resize`` of the dataset's pipeline (config, changed in place) resizes to
    exactly ``size`` = ``(width, height)`` pixels, aspect ratio not kept.

    Raises:
        ValueError: the pipeline has no ``Resize`` step.
    """
    steps = [s for s in dataset['pipeline'] if s['type'].split('.')[-1] == 'Resize']
    if not steps:
        raise ValueError('the training pipeline has no Resize step to fix the image size')
    for step in steps:
        step.update(scale=tuple(size), keep_ratio=False)


def offline_models(cfg: Config, factor: float, rcnn_rois: Optional[int] = None) -> None:
    """No teacher checkpoint and no pretrained backbone (nothing is downloaded); the seg
    preprocessor pads to its ``size`` times ``factor``; with ``rcnn_rois``, the R-CNN
    heads sample that many RoIs per training image (mmdet's configs: 512). ``cfg`` is
    changed in place (``model.student`` / ``model.teacher``'s ``override``)."""
    cfg.model.teacher_ckpt = None
    for side in ('student', 'teacher'):
        model, _ = resolve_model_cfg(cfg.model[side], key=f'model.{side}')
        where = f'model.{side}.override'
        if model.get('pretrained'):
            cfg.merge_from_dict({f'{where}.pretrained': None})
        if model.get('backbone', {}).get('init_cfg'):
            cfg.merge_from_dict({f'{where}.backbone.init_cfg': None})
        size = model.get('data_preprocessor', {}).get('size')
        if size is not None:
            cfg.merge_from_dict({f'{where}.data_preprocessor.size': scaled(size, factor)})
        if rcnn_rois is not None and model.get('train_cfg', {}).get('rcnn'):
            cfg.merge_from_dict({f'{where}.train_cfg.rcnn.sampler.num': rcnn_rois})


def learning_iterations(train_cfg: dict, iters: int = 1) -> None:
    """``iters`` training iterations (``train_cfg`` changed in place).

    A phase or search loop (``phases``) runs them all in its first phase with a learner
    (RL-PyramidKD: policy learning, every scored batch; a NAS search: the search), the
    other phases none; EA-LS evaluates one candidate of one iteration. Another loop runs
    ``iters`` epochs (``max_epochs``: one batch each with :func:`shrink_loader`'s loader)
    or ``iters`` iterations (``max_iters``).

    Raises:
        StopIteration: ``phases`` has no phase with a learner.
    """
    if 'phases' in train_cfg:
        phases = train_cfg['phases']
        learning = next(i for i, p in enumerate(phases) if p.get('learner'))
        for i, phase in enumerate(phases):
            phase.pop('epochs', None)
            phase['iters'] = iters if i == learning else 0
        if 'proxy_iters' in train_cfg:  # EA-LS: one candidate of one iteration
            train_cfg.update(proxy_iters=1, fitness_batches=1)
    elif 'max_epochs' in train_cfg:
        train_cfg['max_epochs'] = iters
    else:
        train_cfg['max_iters'] = iters


def write_search_result(cfg: Config, work_dir: Path) -> None:
    """A retrain (``model.selector.levels_from``) reads a search result of its own,
    written to ``work_dir/search/search_result.json``: every level but the first, each
    of weight 1."""
    result = work_dir / 'search' / 'search_result.json'
    result.parent.mkdir(parents=True, exist_ok=True)
    levels = cfg.model.pyramid.names
    result.write_text(json.dumps(dict(levels=list(levels[1:]),
                                      level_weights={n: 1.0 for n in levels[1:]})))
    cfg.model.selector.levels_from = str(result)


def offline_config(cfg: Config, task: str, root: Path, work_dir: Path, factor: float = 1.0,
                   iters: int = 1, rcnn_rois: Optional[int] = None, seed: int = 0) -> Config:
    """``cfg`` (a distillation config, changed in place and returned) with every change
    of the module docstring.

    Args:
        cfg: the config, as :func:`rlpkd.apis.read_config` reads it.
        task: ``'det'``, ``'ins'``, ``'seg'`` or ``'cls'``: the toy data's kind.
        root: the toy dataset's root folder.
        work_dir: the run's work dir (a retrain's search result is written there).
        factor: image-size factor of the pipelines (1: the config's sizes).
        iters: training iterations (:func:`learning_iterations`).
        rcnn_rois: RoIs sampled per image by R-CNN heads (None: the config's).
        seed: ``randomness.seed``.
    """
    offline_models(cfg, factor, rcnn_rois)
    if 'arch_dataloader' in cfg.train_cfg:  # its dataset may share the training one's dicts
        cfg.train_cfg.arch_dataloader = copy.deepcopy(cfg.train_cfg.arch_dataloader)
        shrink_loader(cfg.train_cfg.arch_dataloader, task, root, factor)
    shrink_loader(cfg.train_dataloader, task, root, factor)
    learning_iterations(cfg.train_cfg, iters)
    if cfg.model.selector.get('levels_from'):
        write_search_result(cfg, work_dir)
    for key in ('val', 'test'):
        cfg[f'{key}_dataloader'] = cfg[f'{key}_cfg'] = cfg[f'{key}_evaluator'] = None
    cfg.default_hooks.checkpoint = None
    cfg.update(work_dir=str(work_dir), randomness=dict(seed=seed))
    return cfg
