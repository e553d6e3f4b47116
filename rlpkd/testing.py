"""Helpers shared by the tests and the benchmarks: real (tiny) mm models and batches.

Nothing here is mocked: the models are the toy mmdet / mmseg / mmpretrain configs of
``configs/``, and the batches go through each model's own data preprocessor.
"""
from __future__ import annotations

import copy

import torch

import rlpkd  # noqa: F401  (registers components)
from rlpkd.registry import MODELS

TOY_TEACHER = 'rlpkd::faster_rcnn/faster-rcnn_r18-w32_fpn_toy-coco.py'
TOY_STUDENT = 'rlpkd::faster_rcnn/faster-rcnn_r18-w16_fpn_toy-coco.py'
TOY_DISTILLER = dict(
    type='PyramidDistiller',
    student=dict(cfg_path=TOY_STUDENT),
    teacher=dict(cfg_path=TOY_TEACHER),
    teacher_ckpt=None,
    level_loss=dict(type='PKDLoss'),
    connector=dict(type='ConvNormConnector'))


def build_distiller(**overrides) -> torch.nn.Module:
    """The toy teacher (FPN 128) -> toy student (FPN 64) distiller, real mmdet models."""
    cfg = copy.deepcopy(TOY_DISTILLER)
    cfg.update(overrides)
    return MODELS.build(cfg)


def det_batch(model, num_images: int = 2, size=(96, 128), seed: int = 0) -> dict:
    """A preprocessed detection batch with one or two boxes per image."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    gen = torch.Generator().manual_seed(seed)
    h, w = size
    inputs, samples = [], []
    for i in range(num_images):
        inputs.append(torch.randint(0, 256, (3, h, w), generator=gen, dtype=torch.uint8))
        sample = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                             scale_factor=(1.0, 1.0)))
        boxes = [[8.0, 8.0, 40.0, 50.0], [50.0, 30.0, 120.0, 90.0]][:1 + i % 2]
        sample.gt_instances = InstanceData(bboxes=torch.tensor(boxes),
                                           labels=torch.arange(len(boxes)) % 3)
        samples.append(sample)
    return model.data_preprocessor(dict(inputs=inputs, data_samples=samples), True)


# ------------------------------------------------------------- seg / cls helpers
def build_from_config(path, teacher_ckpt=None, **model_overrides) -> torch.nn.Module:
    """The distiller a config file describes (``rlpkd::`` or a path), real mm models.

    ``teacher_ckpt`` defaults to ``None`` (random teacher): the tests download nothing.
    """
    from mmengine.config import Config

    from rlpkd.models.utils import config_file
    cfg = Config.fromfile(config_file(str(path)))
    model = copy.deepcopy(cfg.model)
    model.update(teacher_ckpt=teacher_ckpt, **model_overrides)
    return MODELS.build(model)


def seg_data(num_images: int = 2, size=(64, 64), num_classes: int = 4,
             seed: int = 0) -> dict:
    """A collated mmseg batch (uint8 images, random label maps with some 255)."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    gen = torch.Generator().manual_seed(seed)
    h, w = size
    inputs, samples = [], []
    for _ in range(num_images):
        inputs.append(torch.randint(0, 256, (3, h, w), generator=gen, dtype=torch.uint8))
        labels = torch.randint(0, num_classes, (1, h, w), generator=gen)
        labels[:, :2] = 255  # an ignored border, as reduce_zero_label makes
        sample = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w)))
        sample.gt_sem_seg = PixelData(data=labels)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def seg_batch(model, *args, **kwargs) -> dict:
    """:func:`seg_data` through ``model``'s data preprocessor (training mode)."""
    return model.data_preprocessor(seg_data(*args, **kwargs), True)


def cls_data(num_images: int = 2, size=(64, 64), num_classes: int = 3,
             seed: int = 0) -> dict:
    """A collated mmpretrain batch: uint8 images with one label each."""
    from mmpretrain.structures import DataSample

    gen = torch.Generator().manual_seed(seed)
    inputs = [torch.randint(0, 256, (3, *size), generator=gen, dtype=torch.uint8)
              for _ in range(num_images)]
    samples = [DataSample().set_gt_label(i % num_classes) for i in range(num_images)]
    return dict(inputs=inputs, data_samples=samples)


def cls_batch(model, *args, **kwargs) -> dict:
    """:func:`cls_data` through ``model``'s data preprocessor (training mode)."""
    return model.data_preprocessor(cls_data(*args, **kwargs), True)


# ------------------------------------------------------------- instance segmentation
def ins_data(num_images: int = 1, size=(64, 64), seed: int = 0) -> dict:
    """A collated mmdet instance batch: uint8 images, boxes, labels and bitmap masks.

    Each image has one or two objects; an object's mask is the ellipse inscribed in its
    box, so boxes and masks agree as in real COCO data.
    """
    import numpy as np
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData

    gen = torch.Generator().manual_seed(seed)
    h, w = size
    ys, xs = np.mgrid[:h, :w] + 0.5
    inputs, samples = [], []
    for i in range(num_images):
        inputs.append(torch.randint(0, 256, (3, h, w), generator=gen, dtype=torch.uint8))
        boxes = [[0.1 * w, 0.1 * h, 0.45 * w, 0.6 * h],
                 [0.5 * w, 0.35 * h, 0.95 * w, 0.9 * h]][:1 + i % 2]
        masks = np.stack([((xs - (x0 + x1) / 2) / ((x1 - x0) / 2)) ** 2
                          + ((ys - (y0 + y1) / 2) / ((y1 - y0) / 2)) ** 2 <= 1
                          for x0, y0, x1, y1 in boxes]).astype(np.uint8)
        sample = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                             scale_factor=(1.0, 1.0)))
        sample.gt_instances = InstanceData(bboxes=torch.tensor(boxes),
                                           labels=torch.arange(len(boxes)) % 3,
                                           masks=BitmapMasks(masks, h, w))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def ins_batch(model, *args, **kwargs) -> dict:
    """:func:`ins_data` through ``model``'s data preprocessor (training mode)."""
    return model.data_preprocessor(ins_data(*args, **kwargs), True)


# ------------------------------------------------------------- untrusted files
class RunsCommand:
    """Unpickles to ``os.system(command)``: what a malicious checkpoint does."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        import os
        return os.system, (self.command,)


def malicious_checkpoint(path, marker) -> str:
    """Write a distillation-checkpoint-shaped file to ``path`` whose unpickling creates the file
    ``marker`` (``touch``); return ``str(path)``."""
    torch.save({'state_dict': {'student.w': torch.zeros(1)}, 'meta': {},
                'message_hub': RunsCommand(f'touch {marker}')}, path)
    return str(path)


def load_tool(name: str):
    """The module ``tools/<name>.py`` of this checkout, loaded from its file
    (``tools/`` is not a package), so tests call its ``main(argv)`` in-process."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / 'tools' / f'{name}.py'
    spec = importlib.util.spec_from_file_location(f'rlpkd_tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------- faults
def kill_after_checkpoint(cmd, work_dir, name: str, timeout: float = 900) -> None:
    """Run ``cmd`` (a training command writing to ``work_dir``) and ``kill -9`` it as soon
    as ``work_dir/last_checkpoint`` names checkpoint ``name`` (e.g. ``'epoch_2.pth'``):
    the checkpoint is complete, the run is in the middle of what follows.

    Raises:
        AssertionError: the run ended (or timed out) before it could be killed.
    """
    import signal
    import subprocess
    import time
    from pathlib import Path

    last = Path(work_dir) / 'last_checkpoint'
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if last.exists() and last.read_text().strip().endswith(name):
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f'{cmd} ended (exit {proc.wait()}) before {name} was written')
