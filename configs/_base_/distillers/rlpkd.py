# RL-PyramidKD settings (any pyramid), combined with a uniform-KD config (which names
# teacher, student, data and schedule):
#   _base_ = ['./kd-uniform_xxx.py', '../_base_/distillers/rlpkd.py']
#   model = dict(selector={{_base_.rl_selector}})
#   train_cfg = dict(_delete_=True, type='rlpkd.PhaseTrainLoop', phases=[...],
#                    ppo={{_base_.ppo}})
rl_selector = dict(
    _delete_=True,  # replaces the uniform selector
    type='rlpkd.RLSelector',
    policy=dict(hidden_dim=256, use_lstm=True, hard_budget=False),
    global_dim=512,        # 512 + 4 x 256 + 1 + 4 + 1 = 1542 for a 256-channel FPN
    budget=1.0,
    lambda_tradeoff=0.5,   # reward = measured improvement + 0.5 x cost saved
    lookahead_lr=0.01,     # virtual SGD step of the reward, capped by lookahead_max_drop:
    lookahead_max_drop=0.1,  # predicted drop <= 0.1 x the sample's gap (no overshoot)
    lookahead_chunk=1)     # samples per vectorised reward lookahead (1: least memory)

# PPO of the policy, run by rlpkd.PhaseTrainLoop (see its `phases`).
ppo = dict(lr=3e-4, clip_epsilon=0.2, value_coef=0.5, entropy_coef=0.01,
           max_grad_norm=0.5, ppo_epochs=4, num_minibatches=4, seed=0)

custom_hooks = [dict(type='rlpkd.PolicyStatsHook')]
