# GradNorm pyramid KD on the CPU toy data: the uniform toy config plus learned
# per-level weights (Chen et al., ICML 2018; rlpkd.GradNormBalancer). W is the last
# conv of the student's layer1 (layer1.1.conv2), which every FPN level depends on;
# the toy student trains it (frozen_stages=-1). Gradient clipping (max_norm=10) is
# the toy schedule's, as in the uniform config.
_base_ = './kd-uniform_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'
model = dict(
    balancer=dict(type='rlpkd.GradNormBalancer', alpha=1.5, lr=1e-2,
                  shared_param='student.backbone.layer1'))
