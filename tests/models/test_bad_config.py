"""Bad distiller configs fail at build time with the config key in the message."""
import pytest
import torch
from mmengine.model import BaseDataPreprocessor
from mmengine.runner import load_checkpoint

from rlpkd.models.utils import build_mm_model
from rlpkd.pyramid.teacher_input import Normalisation
from rlpkd.registry import MODELS
from rlpkd.testing import TOY_DISTILLER, build_distiller, build_from_config, cls_batch
from rlpkd.utils.checkpoint_io import CheckpointReadError, checkpoint_keys

pytestmark = pytest.mark.bad_input

CLS_KD = 'rlpkd::resnet/kd-uniform_resnet18w32-resnet18w16_toy-folder.py'


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


def test_truncated_teacher_checkpoint_is_named_unreadable(tmp_path):
    path = tmp_path / 'teacher.pth'
    torch.save({'state_dict': {'w': torch.arange(1000.0)}}, path)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(CheckpointReadError, match=rf'`model.teacher_ckpt` {path} is not a '
                       'readable checkpoint'):
        build_distiller(teacher_ckpt=str(path))


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


def test_teacher_ckpt_left_out_is_an_error():
    cfg = {k: v for k, v in TOY_DISTILLER.items() if k != 'teacher_ckpt'}
    with pytest.raises(KeyError, match=r'`model.teacher_ckpt` is missing.*None'):
        MODELS.build(cfg)


def test_level_loss_zero_at_the_level_size_fails_at_build():
    """res5 of a 32x32 classification input is 1x1: PKD is identically 0 there."""
    with pytest.raises(ValueError, match=r'model.pyramid` level res5.*1x1.*PKDLoss'):
        build_from_config(CLS_KD, probe_size=(32, 32))


def test_level_loss_zero_at_a_training_size_fails_naming_the_level():
    model = build_from_config(CLS_KD)  # probe 64x64: res5 is 2x2
    model.train()
    with pytest.raises(ValueError, match=r'model.pyramid` level res5 is 1x1'):
        model(**cls_batch(model, size=(32, 32)), mode="loss")


class ForeignPreprocessor(BaseDataPreprocessor):
    """A preprocessor that normalises but keeps its settings under other names (a custom
    class, or another mmengine version)."""

    def __init__(self) -> None:
        super().__init__()
        self.norm_mean = (1.0, 2.0, 3.0)


def test_unreadable_preprocessor_is_named_not_guessed():
    with pytest.raises(AttributeError, match=r'`model.teacher.data_preprocessor` '
                       r'\(ForeignPreprocessor\) has no `_channel_conversion'):
        Normalisation.of(ForeignPreprocessor(), 'model.teacher')
    assert Normalisation.of(BaseDataPreprocessor(), 'model.teacher').mean is None


def test_mmpretrain_channel_swap_is_read():
    from mmpretrain.models import ClsDataPreprocessor
    pre = ClsDataPreprocessor(mean=[1, 2, 3], std=[1, 1, 1], to_rgb=True)
    assert Normalisation.of(pre, 'model.student').swaps_channels


def test_checkpoint_of_another_task_names_the_file(tmp_path):
    """A classifier's checkpoint loaded into a detection distiller (as ``load_from``
    does): taken for a student-alone checkpoint, yet no tensor has a student's shape, so
    nothing would be loaded."""
    classifier = build_mm_model(dict(cfg_path='rlpkd::resnet/resnet18-w32_toy-folder.py'),
                                key='test')
    path = tmp_path / 'cls.pth'
    torch.save({'state_dict': classifier.state_dict(), 'meta': {}}, path)
    det = build_distiller()
    with checkpoint_keys({str(path): 'load_from'}), \
            pytest.raises(ValueError, match=rf'`load_from` {path} fits nothing'):
        load_checkpoint(det, str(path), map_location='cpu')
