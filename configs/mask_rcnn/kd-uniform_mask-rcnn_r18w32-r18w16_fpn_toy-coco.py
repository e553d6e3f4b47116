# Uniform pyramid KD on the CPU toy instance data: the toy Mask R-CNN teacher (R18 w32,
# FPN 128) distilled into the toy student (R18 w16, FPN 64). Same distiller and
# distiller settings as the Faster R-CNN toy config and the full COCO config.
_base_ = [
    '../_base_/distillers/kd-uniform_fpn.py',
    '../_base_/datasets/toy_coco_instance.py',
    '../_base_/schedules/toy_8e.py',
    'mmdet::_base_/default_runtime.py',
]
model = dict(
    student=dict(cfg_path='rlpkd::mask_rcnn/mask-rcnn_r18-w16_fpn_toy-coco.py'),
    teacher=dict(cfg_path='rlpkd::mask_rcnn/mask-rcnn_r18-w32_fpn_toy-coco.py'),
    # Written by `tools/train.py` on the teacher config (the demo and
    # tools/benchmark.py train their own and pass it as --cfg-options model.teacher_ckpt=...).
    teacher_ckpt='work_dirs/mask-rcnn_r18-w32_fpn_toy-coco/epoch_8.pth')
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=8))
