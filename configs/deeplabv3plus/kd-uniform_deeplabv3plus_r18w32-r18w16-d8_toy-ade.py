# Uniform pyramid KD on the CPU toy segmentation data: the toy teacher (dilated
# R18 w32) distilled into the toy student (dilated R18 w16) on res2-res5; channels
# differ on every level, so every level has a connector. Same distiller as the full
# ADE20K configs; only the models, data and schedule are smaller.
_base_ = [
    '../_base_/distillers/kd-uniform_resnet.py',
    '../_base_/datasets/toy_ade_segmentation.py',
    '../_base_/schedules/toy_sgd-cosine_12e.py',
    '../_base_/toy_runtime_seg.py',
]
model = dict(
    student=dict(cfg_path='rlpkd::deeplabv3plus/deeplabv3plus_r18-w16-d8_toy-ade.py'),
    teacher=dict(cfg_path='rlpkd::deeplabv3plus/deeplabv3plus_r18-w32-d8_toy-ade.py'),
    # Written by `tools/train.py` on the teacher config (the demo and
    # tools/benchmark.py train their own and pass it as --cfg-options model.teacher_ckpt=...).
    teacher_ckpt='work_dirs/deeplabv3plus_r18-w32-d8_toy-ade/epoch_12.pth')
