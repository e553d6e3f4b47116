"""Smoke tests of the scripts in ``benchmarks/``: each runs the real script at its
smallest size, writing to a temporary output stem (never ``benchmarks/results/``)."""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from benchmark_smoke import run, untrained_teacher

from rlpkd.benchmarking import TASKS
from rlpkd.benchmarking.teacher import teacher_key
from rlpkd.datasets import generate_toy_coco


@pytest.fixture(scope='session')
def known_answer_work(tmp_path_factory) -> Path:
    """``benchmarks/known_answer.py`` at its smallest (toy COCO, 8 train / 4 val images,
    every size group among both; 3 epochs, seed 0): uniform KD, the group oracle and
    RL-PyramidKD; returns its work dir (the output stem is ``<work>/known_answer``).

    Its toy teacher is found in the script's teacher cache (``<work-dir>/teacher``): an
    untrained one, put there beforehand under the key of that data
    (:mod:`rlpkd.benchmarking.teacher`), so that only the students are trained."""
    work = tmp_path_factory.mktemp('known_answer').resolve() / 'work'
    det, data = TASKS['det'], work / 'data'
    generate_toy_coco(data, num_train=8, num_val=4)  # the bytes the script writes again
    key = teacher_key(det, data, [*det.data_options(data), 'randomness.seed=0'])
    untrained_teacher(det, work / 'teacher' / f'toy-teacher-det-{key}.pth')
    run('known_answer', '--seeds', '0', '--epochs', '3', '--num-train', '8', '--num-val',
        '4', '--methods', 'uniform KD', 'group oracle', 'RL-PyramidKD, gap reward',
        '--work-dir', work, '--out', work / 'known_answer')
    if (work / 'teacher' / 'train.log').exists():
        warnings.warn('known_answer.py missed the cached teacher and trained one (slower): '
                      'the teacher cache key changed, update this fixture')
    return work


@pytest.fixture(scope='session')
def known_answer_run(known_answer_work) -> Path:
    """The finished uniform-KD run of :func:`known_answer_work`, the input of
    ``reward_signal.py`` and ``known_answer_policy.py``."""
    path = known_answer_work / 'noise' / 'uniform_KD' / 'seed_0'
    assert (path / 'test' / 'config.py').is_file() and list(path.glob('epoch_*.pth'))
    return path
