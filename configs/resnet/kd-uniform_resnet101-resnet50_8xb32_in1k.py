# Uniform pyramid KD, ResNet-101 (teacher, mmpretrain model zoo, 77.97 top-1) ->
# ResNet-50 on ImageNet-1k, 8 GPUs x 32 images, 100 epochs. The pyramid is the
# backbone's res2-res5, so both backbones output every stage (the heads still read
# the last one); channels are equal, so no connector is built.
_base_ = [
    '../_base_/distillers/kd-uniform_resnet.py',
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
]
model = dict(
    student=dict(cfg_path='mmpretrain::resnet/resnet50_8xb32_in1k.py',
                 override=dict(backbone=dict(out_indices=(0, 1, 2, 3)))),
    teacher=dict(cfg_path='mmpretrain::resnet/resnet101_8xb32_in1k.py',
                 override=dict(backbone=dict(out_indices=(0, 1, 2, 3)))),
    teacher_ckpt='https://download.openmmlab.com/mmclassification/v0/resnet/'
                 'resnet101_8xb32_in1k_20210831-539c63f8.pth')
# mmpretrain keeps the data preprocessor (mean / std) beside `model`, and the runner
# would pass it to the distiller; the student's own config supplies it instead.
data_preprocessor = None
