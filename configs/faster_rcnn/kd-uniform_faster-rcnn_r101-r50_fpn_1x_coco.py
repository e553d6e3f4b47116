# Uniform pyramid KD, Faster R-CNN R101-FPN (teacher, mmdet model zoo) -> R50-FPN,
# COCO 2017, 1x schedule, 8 GPUs x 2 images.
_base_ = [
    '../_base_/distillers/kd-uniform_fpn.py',
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
model = dict(
    student=dict(cfg_path='mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'),
    teacher=dict(cfg_path='mmdet::faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py'),
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/'
                 'faster_rcnn_r101_fpn_1x_coco/'
                 'faster_rcnn_r101_fpn_1x_coco_20200130-f513f705.pth')
