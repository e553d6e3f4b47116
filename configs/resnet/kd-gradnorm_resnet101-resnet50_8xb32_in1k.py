# GradNorm pyramid KD, ResNet-101 -> ResNet-50 on ImageNet-1k, 8 GPUs x 32 images, 100
# epochs: the uniform full-scale config plus learned per-level weights. mmpretrain's
# ResNet-50 freezes no stage, so W is the last conv of layer1: every level (res2-res5,
# the backbone's stages) depends on it.
_base_ = './kd-uniform_resnet101-resnet50_8xb32_in1k.py'
model = dict(
    balancer=dict(type='rlpkd.GradNormBalancer', alpha=1.5, lr=1e-2,
                  shared_param='student.backbone.layer1'))
