# Phase 4 of RL-PyramidKD at full scale: MAML of the level-selection policy across COCO
# detection (Faster R-CNN R101-FPN -> R50-FPN), ADE20K segmentation (DeepLabV3+ R101-D8
# -> R50-D8) and ImageNet classification (ResNet-101 -> ResNet-50): each task's teacher
# (model-zoo checkpoint), student, optimiser and data come from its full-scale
# RL-PyramidKD config.
# Every rank builds all three tasks (each at its config's per-GPU batch size). Written
# for 8 GPUs: tools/dist_train.sh configs/maml/maml_rlpkd_coco-ade20k-in1k.py 8
# Leave-one-task-out: list two tasks, then start the third's RL-PyramidKD from
# work_dir/meta_policy.pth (model.selector.policy_init).
_base_ = ['./maml_rlpkd_toy-det-seg-cls.py']

train_cfg = dict(
    meta_iters=2000,
    support_steps=4,
    query_steps=4,
    tasks=[
        dict(name='det', config='rlpkd::faster_rcnn/rlpkd_faster-rcnn_r101-r50_fpn_40e_coco.py'),
        dict(name='seg',
             config='rlpkd::deeplabv3plus/'
                    'rlpkd_deeplabv3plus_r101-r50-d8_4xb4-80k_ade20k-512x512.py'),
        # the classification lookahead costs a student step per sample: score 8 of 32
        dict(name='cls', config='rlpkd::resnet/rlpkd_resnet101-resnet50_8xb32_in1k.py',
             collect_samples=8),
    ])
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=100))
env_cfg = dict(cudnn_benchmark=True)
