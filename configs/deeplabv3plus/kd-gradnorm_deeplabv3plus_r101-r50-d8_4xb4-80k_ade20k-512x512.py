# GradNorm pyramid KD, DeepLabV3+ R101-D8 -> R50-D8 on ADE20K, 512x512 crops, 80k
# iterations, 4 GPUs x 4 images: the uniform full-scale config plus learned per-level
# weights. mmseg's R50-D8 freezes no stage, so W is the last conv of layer1: every
# level (res2-res5, the backbone's stages) depends on it.
_base_ = './kd-uniform_deeplabv3plus_r101-r50-d8_4xb4-80k_ade20k-512x512.py'
model = dict(
    balancer=dict(type='rlpkd.GradNormBalancer', alpha=1.5, lr=1e-2,
                  shared_param='student.backbone.layer1'))
