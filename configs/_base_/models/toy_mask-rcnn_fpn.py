# mmdet's Mask R-CNN R50-FPN, resized for the 128x128 toy images with 3 classes: the
# toy Faster R-CNN plus mmdet's mask branch (RoIAlign 14 -> FCN mask head -> 28x28
# masks), thinned for CPU (2 convs instead of 4). Widths are set by the configs that
# inherit this (mask_roi_extractor.out_channels = FPN width).
_base_ = './toy_faster-rcnn_fpn.py'

model = dict(
    type='MaskRCNN',
    data_preprocessor=dict(pad_mask=True),
    roi_head=dict(
        mask_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
            out_channels=256,
            featmap_strides=[4, 8, 16, 32],
            finest_scale=14),  # as the box branch: RoIs of 28/56/112 px -> P3/P4/P5
        mask_head=dict(
            type='FCNMaskHead',
            num_convs=2,
            in_channels=256,
            conv_out_channels=256,
            num_classes=3,
            loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))),
    train_cfg=dict(rcnn=dict(mask_size=28)),
    test_cfg=dict(rcnn=dict(mask_thr_binary=0.5)))
