# Heterogeneous pair: DeepLabV3+ R101-D8 (teacher, 256/512/1024/2048 channels) ->
# R18-D8 (64/128/256/512 channels) on ADE20K; a 1x1 conv + BN connector lifts each
# student level to the teacher's channels. The student is mmseg's R50 ADE20K config
# with the R18 changes of mmseg's own deeplabv3plus_r18-d8 configs.
_base_ = './kd-uniform_deeplabv3plus_r101-r50-d8_4xb4-80k_ade20k-512x512.py'
model = dict(
    student=dict(
        cfg_path='mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb4-80k_ade20k-512x512.py',
        override=dict(
            pretrained='open-mmlab://resnet18_v1c',
            backbone=dict(depth=18),
            decode_head=dict(c1_in_channels=64, c1_channels=12, in_channels=512,
                             channels=128),
            auxiliary_head=dict(in_channels=256, channels=64))))
