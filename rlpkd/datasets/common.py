"""Helpers shared by the toy dataset generators: argument checks and file writing."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

MIN_IMG_SIZE, MAX_IMG_SIZE = 32, 4096
MAX_IMAGES = 999_999  # file names have at least six digits
_PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 6]


def check_args(num_train: Any, num_val: Any, img_size: Any, seed: Any) -> None:
    """Raise ``TypeError``/``ValueError`` naming the first argument that makes no sense."""
    limits = (('num_train', num_train, 1, MAX_IMAGES), ('num_val', num_val, 1, MAX_IMAGES),
              ('img_size', img_size, MIN_IMG_SIZE, MAX_IMG_SIZE), ('seed', seed, 0, None))
    for name, value, low, high in limits:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f'{name} must be an integer, got {value!r}')
        if value < low or (high is not None and value > high):
            bounds = f'>= {low}' if high is None else f'in [{low}, {high}]'
            raise ValueError(f'{name} must be {bounds}, got {value}')


def check_out_dir(out_dir: str | Path) -> Path:
    """``out_dir`` as a ``Path``; an empty path is an error."""
    if not str(out_dir):
        raise ValueError('out_dir must be a non-empty path')
    return Path(out_dir)


def write_png(path: Path, img: np.ndarray) -> None:
    """Write ``img`` (BGR or single-channel) losslessly; raise if OpenCV cannot."""
    if not cv2.imwrite(str(path), img, _PNG_PARAMS):
        raise OSError(f'cv2.imwrite failed for {path}')


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as compact, key-sorted JSON (byte-identical for equal data)."""
    text = json.dumps(data, sort_keys=True, separators=(',', ':')) + '\n'
    path.write_bytes(text.encode('utf-8'))


def remove_stale_images(img_dir: Path, num_images: int, prefix: str = '',
                        digits: int = 6) -> None:
    """Delete ``<prefix><number>.png`` files numbered above ``num_images``.

    They are left by an earlier, larger run into the same folder.
    """
    for path in img_dir.glob(prefix + '[0-9]' * digits + '.png'):
        if int(path.stem[len(prefix):]) > num_images:
            path.unlink()
