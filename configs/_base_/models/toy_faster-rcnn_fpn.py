# mmdet's Faster R-CNN R50-FPN, resized for 128x128 toy images with 3 classes.
# Width/depth of the backbone and FPN are set by the configs that inherit this.
_base_ = 'mmdet::_base_/models/faster-rcnn_r50_fpn.py'

model = dict(
    # Trained from scratch (nothing to download), so no frozen stem and BN learns.
    backbone=dict(depth=18, init_cfg=None, frozen_stages=-1, norm_eval=False),
    rpn_head=dict(
        # P2..P6 anchors of 12..192 px cover 6-px to full-image objects.
        anchor_generator=dict(scales=[3])),
    roi_head=dict(
        # RoIs of 28/56/112 px map to P3/P4/P5 (mmdet's 56 suits 800-px images).
        bbox_roi_extractor=dict(finest_scale=14),
        bbox_head=dict(num_classes=3)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(
        rpn=dict(nms_pre=500, max_per_img=300),
        rcnn=dict(max_per_img=50)))
