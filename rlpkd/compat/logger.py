"""The prototype's ``Logger`` (``utils.logger``), as a thin façade over mmengine.

Console and file go through :class:`mmengine.logging.MMLogger`, scalars and images
through :class:`mmengine.visualization.Visualizer` with mmengine's backends (local files,
TensorBoard, Weights & Biases), checkpoints through
:func:`mmengine.runner.checkpoint.save_checkpoint`: no second logging system. Inside
``tools/train.py`` runs, mmengine's own logger, ``visualizer`` config and
``CheckpointHook`` do all of this; this class is for scripts written against the
prototype.
"""
from __future__ import annotations

import logging
import os
import os.path as osp
from typing import Dict, Union

import numpy as np
import torch
from mmengine.logging import MMLogger
from mmengine.runner.checkpoint import save_checkpoint
from mmengine.visualization import Visualizer


class Logger:
    """Console + file log, scalars, images and checkpoints of one experiment.

    Files go to ``<log_dir>/<experiment_name>/``: ``<experiment_name>.log``,
    ``vis_data/`` (scalars ``scalars.json``, images ``vis_image/``; TensorBoard event
    files with ``use_tensorboard``) and the checkpoints.

    Args:
        log_dir: root directory of the experiments' logs.
        experiment_name: this experiment's name (also the logger's instance name).
        use_tensorboard: also write TensorBoard event files (needs ``tensorboard``).
        use_wandb: also log to Weights & Biases (needs ``wandb``).
    """

    def __init__(self, log_dir: str, experiment_name: str, use_tensorboard: bool = True,
                 use_wandb: bool = False) -> None:
        self.dir = osp.join(log_dir, experiment_name)
        os.makedirs(self.dir, exist_ok=True)
        self.logger = MMLogger.get_instance(
            f'rlpkd.{experiment_name}', logger_name=experiment_name,
            log_file=osp.join(self.dir, f'{experiment_name}.log'))
        backends = [dict(type='LocalVisBackend')]
        if use_tensorboard:
            backends.append(dict(type='TensorboardVisBackend'))
        if use_wandb:
            backends.append(dict(type='WandbVisBackend',
                                 init_kwargs=dict(name=experiment_name)))
        self.visualizer = Visualizer(name=f'rlpkd.{experiment_name}', vis_backends=backends,
                                     save_dir=self.dir)  # backends write to vis_data/

    def log(self, message: str, level: str = 'INFO') -> None:
        """One line to the console and the log file."""
        self.logger.log(logging.getLevelName(level.upper()), message)

    def log_metrics(self, metrics: Dict[str, float], step: int, prefix: str = '') -> None:
        """Scalars ``{prefix + name: value}`` at ``step`` to every backend, and one log line."""
        scalars = {f'{prefix}{k}': float(v) for k, v in metrics.items()}
        self.visualizer.add_scalars(scalars, step=step)
        self.log(f'step {step}: ' + ', '.join(f'{k}={v:.4g}' for k, v in scalars.items()))

    def log_image(self, tag: str, image: Union[torch.Tensor, np.ndarray],
                  step: int = 0) -> str:
        """An image ``[H, W]``, ``[C, H, W]`` or ``[H, W, C]`` (float in [0, 1] or uint8) at
        ``step``. ``/`` in ``tag`` becomes ``_`` (mmengine's local backend writes
        ``<tag>_<step>.png`` and silently skips names with ``/``); returns the name used."""
        name = tag.replace('/', '_')
        self.visualizer.add_image(name, to_hwc_uint8(image), step=step)
        return name

    def save_checkpoint(self, state: dict, filename: str) -> str:
        """Save ``state`` as ``<log_dir>/<experiment_name>/<filename>``; returns the path."""
        path = osp.join(self.dir, filename)
        save_checkpoint(state, path)
        return path

    def close(self) -> None:
        self.visualizer.close()


def to_hwc_uint8(image: Union[torch.Tensor, np.ndarray]) -> np.ndarray:
    """``[H, W]`` / ``[C, H, W]`` / ``[H, W, C]`` (C = 1 or 3), float in [0, 1] or uint8,
    as the ``[H, W, 3]`` uint8 RGB array mmengine's backends take."""
    array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else \
        np.asarray(image)
    if array.ndim == 3 and array.shape[0] in (1, 3) and array.shape[-1] not in (1, 3):
        array = array.transpose(1, 2, 0)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3):
        raise ValueError(f'log_image takes [H, W], [C, H, W] or [H, W, C] with C = 1 or 3, '
                         f'got shape {tuple(array.shape)}')
    if array.dtype != np.uint8:
        array = (np.clip(array.astype(np.float32), 0.0, 1.0) * 255).round().astype(np.uint8)
    return np.repeat(array, 3, axis=-1) if array.shape[-1] == 1 else array
