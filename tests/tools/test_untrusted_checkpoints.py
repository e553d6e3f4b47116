"""A malicious checkpoint, given to every rlpkd tool where a user gives checkpoints, runs
nothing: the tool stops before the file's code runs, naming the key or argument, the
class the file wanted and the opt-in. The tools run in-process from their files."""
from __future__ import annotations

from pathlib import Path

import pytest

from rlpkd.datasets import generate_toy_coco
from rlpkd.testing import load_tool, malicious_checkpoint
from rlpkd.utils.checkpoint_io import UntrustedCheckpointError

pytestmark = pytest.mark.bad_input

ROOT = Path(__file__).resolve().parents[2]
DET = ROOT / 'configs' / 'faster_rcnn'
KD_CFG = DET / 'kd-uniform_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'
RL_CFG = DET / 'rlpkd_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'


@pytest.fixture(scope='module')
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('untrusted') / 'data'
    generate_toy_coco(root, num_train=4, num_val=2, seed=2)
    return root


def options(data: Path, *extra: str, test_metric: str = 'test_evaluator') -> list[str]:
    ann = f'{data}/annotations/instances_val.json'
    opts = [f'{k}_dataloader.{v}' for k in ('train', 'val', 'test')
            for v in (f'dataset.data_root={data}/', 'num_workers=0',
                      'persistent_workers=False')]
    return [*opts, f'val_evaluator.ann_file={ann}', f'{test_metric}.ann_file={ann}',
            'train_cfg.max_epochs=1', 'model.teacher_ckpt=None', *extra]


def refused(tool: str, argv: list[str], marker: Path, *parts: str) -> None:
    """``tools/<tool>.py argv`` stops with an error containing ``parts``; ``marker``
    (created if the pickle ran) does not exist."""
    with pytest.raises(UntrustedCheckpointError) as err:
        load_tool(tool).main([str(a) for a in argv])
    assert not marker.exists(), 'the checkpoint ran code'
    for part in ('posix.system', '--trust-checkpoint', *parts):
        assert part in str(err.value), (part, str(err.value))


@pytest.fixture
def evil(tmp_path) -> tuple[str, Path]:
    marker = tmp_path / 'ran'
    return malicious_checkpoint(tmp_path / 'evil.pth', marker), marker


def test_teacher_ckpt(evil, data, tmp_path):
    path, marker = evil
    refused('train', [KD_CFG, '--work-dir', tmp_path / 'w', '--cfg-options',
                      *options(data, f'model.teacher_ckpt={path}')],
            marker, f'`model.teacher_ckpt` {path}')


def test_policy_init(evil, data, tmp_path):
    path, marker = evil
    refused('train', [RL_CFG, '--work-dir', tmp_path / 'w', '--cfg-options',
                      *options(data, f'model.selector.policy_init={path}',
                              test_metric='test_evaluator.0')],
            marker, f'`model.selector.policy_init` {path}')


@pytest.mark.parametrize('flag', ['--resume', 'load_from'])
def test_resume_and_load_from(evil, data, tmp_path, flag):
    path, marker = evil
    extra = ['--resume', path] if flag == '--resume' else []
    opts = options(data, *([f'load_from={path}'] if flag == 'load_from' else []))
    refused('train', [KD_CFG, '--work-dir', tmp_path / 'w', *extra, '--cfg-options', *opts],
            marker, f'`{flag}` {path}')


def test_resume_auto_names_the_found_checkpoint(evil, data, tmp_path):
    path, marker = evil
    work = tmp_path / 'w'
    work.mkdir()
    (work / 'last_checkpoint').write_text(path)
    refused('train', [KD_CFG, '--work-dir', work, '--resume', '--cfg-options',
                      *options(data)], marker, f'`--resume` {path}')


def test_test_tool(evil, data, tmp_path):
    path, marker = evil
    refused('test', [KD_CFG, path, '--work-dir', tmp_path / 'w', '--cfg-options',
                     *options(data)], marker, f'`CHECKPOINT` {path}')


def test_export_student(evil, tmp_path):
    path, marker = evil
    refused('export_student', [path, tmp_path / 'student.pth'], marker, f'`CHECKPOINT` {path}')
    assert not (tmp_path / 'student.pth').exists()


def test_export_student_trusts_on_request(evil, tmp_path):
    """``--trust-checkpoint`` is the opt-in: the same file is unpickled (and runs)."""
    path, marker = evil
    load_tool('export_student').main([path, str(tmp_path / 'student.pth'), '--trust-checkpoint'])
    assert marker.exists()
