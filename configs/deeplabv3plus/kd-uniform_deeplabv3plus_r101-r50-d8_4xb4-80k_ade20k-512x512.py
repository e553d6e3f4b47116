# Uniform pyramid KD, DeepLabV3+ R101-D8 (teacher, mmseg model zoo, 44.6 mIoU) ->
# R50-D8 on ADE20K, 512x512 crops, 80k iterations, 4 GPUs x 4 images. The pyramid is
# the backbone's res2-res5 (res3-res5 share stride 8); channels are equal, so no
# connector is built.
_base_ = [
    '../_base_/distillers/kd-uniform_resnet.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/schedules/schedule_80k.py',
    'mmseg::_base_/default_runtime.py',
]
model = dict(
    student=dict(cfg_path='mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb4-80k_ade20k-512x512.py'),
    teacher=dict(
        cfg_path='mmseg::deeplabv3plus/deeplabv3plus_r101-d8_4xb4-80k_ade20k-512x512.py'),
    teacher_ckpt='https://download.openmmlab.com/mmsegmentation/v0.5/deeplabv3plus/'
                 'deeplabv3plus_r101-d8_512x512_80k_ade20k/'
                 'deeplabv3plus_r101-d8_512x512_80k_ade20k_20200615_014139-d5730af7.pth')
