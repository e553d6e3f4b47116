# Uniform pyramid KD on the CPU toy classification data: the toy teacher (R18 w32)
# distilled into the toy student (R18 w16) on res2-res5 (every level has a
# connector). Same distiller as the full ImageNet config; only the models, data and
# schedule are smaller.
_base_ = [
    '../_base_/distillers/kd-uniform_resnet.py',
    '../_base_/datasets/toy_folder_classification.py',
    '../_base_/schedules/toy_adamw-cosine_6e.py',
    '../_base_/toy_runtime_cls.py',
]
model = dict(
    student=dict(cfg_path='rlpkd::resnet/resnet18-w16_toy-folder.py'),
    teacher=dict(cfg_path='rlpkd::resnet/resnet18-w32_toy-folder.py'),
    # Written by `tools/train.py` on the teacher config (the demo and
    # tools/benchmark.py train their own and pass it as --cfg-options model.teacher_ckpt=...).
    teacher_ckpt='work_dirs/resnet18-w32_toy-folder/epoch_6.pth')
# mmpretrain keeps the data preprocessor (mean / std) beside `model`, and the runner
# would pass it to the distiller; the student's own config supplies it instead.
data_preprocessor = None
