# Uniform pyramid KD: every FPN level (P2-P5) of every image, PKD loss.
# Full-scale and toy configs inherit this and name their teacher and student.
custom_imports = dict(imports=['rlpkd'], allow_failed_imports=False)

model = dict(
    type='rlpkd.PyramidDistiller',
    # student=dict(cfg_path=...), teacher=dict(cfg_path=...), teacher_ckpt=...:
    # set by the inheriting config.
    pyramid=dict(
        names=('P2', 'P3', 'P4', 'P5'),
        student=dict(module='neck', indices=(0, 1, 2, 3)),
        teacher=dict(module='neck', indices=(0, 1, 2, 3))),
    level_loss=dict(type='rlpkd.PKDLoss', loss_weight=6.0),
    selector=dict(type='rlpkd.UniformSelector'),
    connector=dict(type='rlpkd.ConvNormConnector', norm_cfg=dict(type='BN')),
    # x4 = number of levels: loss_distill is then the sum over levels, as in the
    # PKD reference configs.
    distill_weight=4.0)

# Levels a selector drops in an iteration leave their connectors without gradient.
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
