"""The toy-teacher cache key: the same teacher config, options and data files share one
teacher wherever the data lies; other data or options do not."""
from __future__ import annotations

import shutil

from rlpkd.benchmarking.plan import TASKS
from rlpkd.benchmarking.teacher import teacher_key
from rlpkd.datasets import generate_toy_folder


def test_key_follows_the_data_files_not_their_folder(tmp_path):
    task = TASKS['cls']
    a, b, other = tmp_path / 'a', tmp_path / 'b', tmp_path / 'other'
    generate_toy_folder(a, num_train=6, num_val=3, img_size=32, seed=0)
    shutil.copytree(a, b)
    generate_toy_folder(other, num_train=6, num_val=3, img_size=32, seed=1)

    def key(data, *extra):
        return teacher_key(task, data, [*task.data_options(data), *extra])

    assert key(a) == key(b)
    assert key(a) != key(other)
    assert key(a) != key(a, 'train_cfg.max_epochs=1')
