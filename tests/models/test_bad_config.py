"""Bad distiller configs fail at build time with the config key in the message."""
import pytest
import torch

from rlpkd.testing import build_distiller


def test_unknown_tap_module():
    with pytest.raises(KeyError, match=r'model.pyramid.student.*nekc'):
        build_distiller(pyramid=dict(names=('P2', 'P3'),
                                     student=dict(module='nekc', indices=(0, 1)),
                                     teacher=dict(module='neck', indices=(0, 1))))


def test_tap_index_out_of_range():
    with pytest.raises(IndexError, match=r'model.pyramid.teacher.indices'):
        build_distiller(pyramid=dict(names=('P2', 'Px'),
                                     student=dict(module='neck', indices=(0, 1)),
                                     teacher=dict(module='neck', indices=(0, 9))))


def test_level_count_mismatch():
    with pytest.raises(ValueError, match=r'model.pyramid.names'):
        build_distiller(pyramid=dict(names=('P2',),
                                     student=dict(module='neck', indices=(0, 1)),
                                     teacher=dict(module='neck', indices=(0, 1))))


def test_channel_mismatch_without_connector():
    with pytest.raises(ValueError, match=r'model.connector'):
        build_distiller(connector=None)


def test_missing_teacher_checkpoint(tmp_path):
    missing = str(tmp_path / 'teacher.pth')
    with pytest.raises(FileNotFoundError, match=r'model.teacher_ckpt.*teacher.pth'):
        build_distiller(teacher_ckpt=missing)


def test_teacher_checkpoint_of_another_model(tmp_path):
    path = tmp_path / 'wrong.pth'
    torch.save({'state_dict': {'backbone.conv1.weight': torch.zeros(1)}}, path)
    with pytest.raises(RuntimeError, match=r'model.teacher_ckpt'):
        build_distiller(teacher_ckpt=str(path))


def test_unknown_fixed_level():
    with pytest.raises(KeyError, match=r'selector.levels.*P7'):
        build_distiller(selector=dict(type='FixedSelector', levels=['P3', 'P7']))


def test_bad_student_cfg_path():
    with pytest.raises(FileNotFoundError, match=r'model.student.cfg_path'):
        build_distiller(student=dict(cfg_path='configs/nope.py'))
