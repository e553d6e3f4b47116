# GradNorm pyramid KD, Mask R-CNN R101-FPN -> R50-FPN, COCO 2017 instance segmentation,
# 1x, 8 GPUs x 2 images: the uniform full-scale config plus learned per-level weights.
# The mmdet R50 student keeps frozen_stages=1 (stem and layer1 frozen), so W is the last
# conv of layer2 (layer2.3.conv3): trainable, and every level depends on it.
_base_ = './kd-uniform_mask-rcnn_r101-r50_fpn_1x_coco.py'
model = dict(
    balancer=dict(type='rlpkd.GradNormBalancer', alpha=1.5, lr=1e-2,
                  shared_param='student.backbone.layer2'))
