# mmseg's DeepLabV3+ R50-D8, resized for 64x64 toy images with 4 classes: a dilated
# ResNet-18 V1c (res3-res5 all at stride 8, as in every mmseg -d8 model) trained from
# scratch on CPU, so no pretrained weights, plain BN instead of SyncBN, and the last
# BN of each residual block starts at 1, not 0 (learns faster from scratch).
# Width of the backbone and heads is set by the configs that inherit this.
_base_ = 'mmseg::_base_/models/deeplabv3plus_r50-d8.py'
norm_cfg = dict(type='BN', requires_grad=True)
crop_size = (64, 64)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(depth=18, norm_cfg=norm_cfg, zero_init_residual=False),
    decode_head=dict(
        # res5 is 8x8 here: mmseg's (1, 12, 24, 36) would only see zero padding.
        dilations=(1, 2, 3, 4),
        num_classes=4,
        norm_cfg=norm_cfg),
    auxiliary_head=dict(num_classes=4, norm_cfg=norm_cfg))
