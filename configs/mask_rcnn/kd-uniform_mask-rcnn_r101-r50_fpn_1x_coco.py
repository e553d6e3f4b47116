# Uniform pyramid KD, Mask R-CNN R101-FPN (teacher, mmdet model zoo: 40.0 box / 36.1
# mask AP) -> R50-FPN, COCO 2017 instance segmentation, 1x schedule, 8 GPUs x 2 images.
# Same distiller as the Faster R-CNN configs: P2-P5 of the FPN necks, PKD loss; the
# evaluator is mmdet's CocoMetric with metric=['bbox', 'segm'] (mask mAP).
_base_ = [
    '../_base_/distillers/kd-uniform_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
model = dict(
    student=dict(cfg_path='mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'),
    teacher=dict(cfg_path='mmdet::mask_rcnn/mask-rcnn_r101_fpn_1x_coco.py'),
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/mask_rcnn/'
                 'mask_rcnn_r101_fpn_1x_coco/'
                 'mask_rcnn_r101_fpn_1x_coco_20200204-1efe0ed5.pth')
val_evaluator = dict(type='CocoMetric', metric=['bbox', 'segm'])
test_evaluator = val_evaluator
