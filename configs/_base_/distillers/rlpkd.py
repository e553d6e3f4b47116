# RL-PyramidKD settings (any pyramid), combined with a uniform-KD config (which names
# teacher, student, data and schedule):
#   _base_ = ['./kd-uniform_xxx.py', '../_base_/distillers/rlpkd.py']
#   model = dict(selector={{_base_.rl_selector}})
#   train_cfg = dict(_delete_=True, type='rlpkd.PhaseTrainLoop', phases=[...],
#                    learners=dict(ppo={{_base_.ppo_learner}}))
rl_selector = dict(
    _delete_=True,  # replaces the uniform selector
    type='rlpkd.RLSelector',
    # init_keep_prob > 0.5: the untrained greedy policy keeps every level (uniform KD)
    policy=dict(hidden_dim=256, use_lstm=True, hard_budget=False, init_keep_prob=0.75),
    budget=1.0,            # state: 512 global + 4 x 256 levels + gap + 4 + budget = 1542
    lambda_tradeoff=0.5,   # reward = measured improvement + 0.5 x cost saved
    lookahead_lr=0.01,     # virtual SGD step of the reward, capped by lookahead_max_drop:
    lookahead_max_drop=0.1,  # predicted drop <= 0.1 x the sample's gap (no overshoot)
    lookahead_chunk=1,     # samples per vectorised reward lookahead (1: least memory)
    reward_signal='gap',   # task-loss signals: 'task' / 'alignment' / 'batch_alignment' /
                           # 'stitching' (docs/method.md; they need lookahead_chunk=1)
    self_critical=False,   # True: the greedy choice's reward is the advantage baseline
    state_gap='teacher')   # 'none': decide before the teacher runs; skip it where empty

# PPO of the policy: the learner the RL phases of rlpkd.PhaseTrainLoop name.
# cost_target=c makes the mean distillation cost a constraint E[used] <= c (Lagrange
# multiplier, dual step multiplier_lr) instead of only the lambda-weighted bonus.
ppo_learner = dict(type='rlpkd.PPOLearner', lr=3e-4, clip_epsilon=0.2, value_coef=0.5,
                   entropy_coef=0.01, max_grad_norm=0.5, ppo_epochs=4, num_minibatches=4,
                   seed=0, cost_target=None, multiplier_lr=0.5)

custom_hooks = [dict(type='rlpkd.PolicyStatsHook')]

# Per-level counterfactual credit (rlpkd/learners/level_credit.py): every recorded sample
# is also scored with each level flipped (model.selector.level_credit=True, L more
# lookahead steps per sample), and each decision learns from its own credit.
level_credit_learner = dict(type='rlpkd.LevelCreditLearner', lr=1e-3, steps=16,
                            entropy_coef=0.0, value_coef=0.5, max_grad_norm=0.5)
