# Uniform pyramid KD of a ResNet backbone's four stage outputs (res2-res5), PKD loss,
# for models whose pyramid is the backbone itself: mmseg segmenters (DeepLabV3+, whose
# dilated -d8 ResNets keep res3-res5 at stride 8) and mmpretrain classifiers (whose
# backbone must then output every stage: `out_indices=(0, 1, 2, 3)`).
# Full-scale and toy configs inherit this and name their teacher and student.
custom_imports = dict(imports=['rlpkd'], allow_failed_imports=False)

model = dict(
    type='rlpkd.PyramidDistiller',
    # student=dict(cfg_path=...), teacher=dict(cfg_path=...), teacher_ckpt=...:
    # set by the inheriting config.
    pyramid=dict(
        names=('res2', 'res3', 'res4', 'res5'),
        student=dict(module='backbone', indices=(0, 1, 2, 3)),
        teacher=dict(module='backbone', indices=(0, 1, 2, 3))),
    level_loss=dict(type='rlpkd.PKDLoss', loss_weight=6.0),
    selector=dict(type='rlpkd.UniformSelector'),
    connector=dict(type='rlpkd.ConvNormConnector', norm_cfg=dict(type='BN')),
    # x4 = number of levels: loss_distill is then the sum over levels.
    distill_weight=4.0)

# Levels a selector drops in an iteration leave their connectors without gradient.
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
