# RL-PyramidKD with a state that compares the pair per level and a learner that credits
# each level decision on its own, on the CPU toy data (same models, data and phases as
# rlpkd_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py):
# - state_fields: instead of the prototype's 1542-entry state (the student's pooled
#   features), the sample's standardised level losses ('discrepancy', 4 entries; 9 with
#   selected + budget). On the known-answer runs it alone lets a probe find every
#   image's answer, the prototype's fields did not (benchmarks/results/state_probe.md);
#   it costs ~6 % of an iteration. 'reliability' (the teacher's task loss on the sample)
#   can be added: it costs 66-104 % of an iteration on the toy (one teacher loss per
#   image);
# - level_credit + LevelCreditLearner: each recorded sample is also scored with every
#   level flipped, and each decision learns from r(a) - r(a with that level flipped).
# The reward stays the base config's gap signal. On the every-level-but-one known-answer
# benchmark the only combination measured to keep the right levels more often than the
# wrong ones is state_fields=('discrepancy', 'agreement') with reward_signal='stitching'
# (0.563 / 0.439 kept, no mAP gain: benchmarks/results/known_answer_level_credit_stitching.md):
#   --cfg-options "model.selector.state_fields=[discrepancy,agreement]" \
#                 model.selector.reward_signal=stitching
_base_ = ['./rlpkd_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py']
model = dict(
    selector=dict(
        state_fields=('discrepancy', ),
        level_credit=True))
train_cfg = dict(
    phases=[
        dict(name='warmup', epochs=4, mode='uniform'),
        # 4 recorded samples per step, each scored 5 times (its choice + 4 flips)
        dict(name='policy', epochs=4, mode='sample', freeze=('backbone', ),
             learner='credit', collect_interval=1, collect_samples=4, update_interval=4),
        dict(name='joint', epochs=4, mode='sample', learner='credit', collect_interval=10,
             collect_samples=4, update_interval=4),
    ],
    learners=dict(_delete_=True, credit={{_base_.level_credit_learner}}))
