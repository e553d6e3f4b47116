"""What the config says is what is distilled: level strides, the teacher's own input
normalisation, the models' input channels (issue: silent mismatches)."""
import pytest
import torch

from rlpkd.pyramid.teacher_input import Normalisation, TeacherInput
from rlpkd.testing import TOY_STUDENT, TOY_TEACHER, build_distiller, det_batch

CAFFE = dict(type='DetDataPreprocessor', mean=[103.53, 116.28, 123.675], std=[1.0, 1.0, 1.0],
             bgr_to_rgb=False, pad_size_divisor=32)


@pytest.mark.bad_input
def test_levels_of_different_strides_fail_naming_the_key():
    shifted = dict(names=('P2', 'P3', 'P4', 'P5'),
                   student=dict(module='neck', indices=(0, 1, 2, 3)),
                   teacher=dict(module='neck', indices=(1, 2, 3, 4)))
    with pytest.raises(ValueError, match=r'model\.pyramid.*level P2 is \(16, 16\).*\(8, 8\)'
                                         r'.*allow_resize'):
        build_distiller(pyramid=shifted)
    # on purpose; a 128x128 probe, so that P6 (stride 64) is no 1x1 level, where PKD is 0
    distiller = build_distiller(pyramid=dict(shifted, allow_resize=True), probe_size=(128, 128))
    losses = distiller(**det_batch(distiller), mode='loss')
    assert torch.isfinite(losses['loss_distill'])


@pytest.mark.bad_input
def test_unknown_pyramid_key():
    with pytest.raises(KeyError, match=r'model\.pyramid.*allow_resise'):
        build_distiller(pyramid=dict(names=('P2',), student=dict(module='neck', indices=(0,)),
                                     teacher=dict(module='neck', indices=(0,)),
                                     allow_resise=True))


def test_caffe_teacher_sees_its_own_normalisation():
    torch.manual_seed(0)
    distiller = build_distiller(
        teacher=dict(cfg_path=TOY_TEACHER, override=dict(data_preprocessor=CAFFE)))
    distiller.eval()
    raw = [torch.randint(0, 256, (3, 64, 96), dtype=torch.uint8) for _ in range(2)]
    student_batch = distiller.data_preprocessor(dict(inputs=raw), False)['inputs']
    teacher_batch = distiller.teacher.data_preprocessor(dict(inputs=raw), False)['inputs']
    assert not torch.allclose(student_batch, teacher_batch)
    with torch.no_grad():
        seen = distiller.pair.teacher_features(student_batch)
        with distiller.pair.teacher_tap.record() as expected:
            distiller.teacher.extract_feat(teacher_batch)
    for a, b in zip(seen, expected):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_normalisation_round_trip_by_hand():
    pytorch_style = Normalisation((123.675, 116.28, 103.53), (58.395, 57.12, 57.375), True)
    caffe = Normalisation((103.53, 116.28, 123.675), (1.0, 1.0, 1.0), False)
    raw_bgr = torch.rand(1, 3, 4, 4) * 255
    student = (raw_bgr.flip(1) - torch.tensor(pytorch_style.mean).view(1, 3, 1, 1)) \
        / torch.tensor(pytorch_style.std).view(1, 3, 1, 1)
    teacher = raw_bgr - torch.tensor(caffe.mean).view(1, 3, 1, 1)
    torch.testing.assert_close(TeacherInput(pytorch_style, caffe)(student), teacher,
                               rtol=1e-5, atol=1e-3)
    assert TeacherInput(caffe, caffe).identity


def test_grayscale_models_build_and_train():
    gray = dict(type='DetDataPreprocessor', mean=[128.0], std=[58.0], bgr_to_rgb=False,
                pad_size_divisor=32)
    override = dict(data_preprocessor=gray, backbone=dict(in_channels=1))
    torch.manual_seed(0)
    distiller = build_distiller(student=dict(cfg_path=TOY_STUDENT, override=override),
                                teacher=dict(cfg_path=TOY_TEACHER, override=override))
    assert distiller.pair.input_channels() == 1
    batch = det_batch(distiller)
    batch['inputs'] = batch['inputs'][:, :1]  # det_batch draws 3 channels
    losses = distiller(**batch, mode='loss')
    assert torch.isfinite(losses['loss_distill'])
