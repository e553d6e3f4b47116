# NAS baselines (DARTS-LS, GDAS-LS, EA-LS): settings for any pyramid, combined with a
# uniform-KD config (which names teacher, student, data and schedule):
#   _base_ = ['../faster_rcnn/kd-uniform_xxx.py', '../_base_/distillers/nas.py']
#   model = dict(selector={{_base_.darts_selector}})
#   train_cfg = dict(_delete_=True, type='rlpkd.ArchitectureSearchLoop', phases=[...],
#                    learners=dict(arch={{_base_.arch_learner}}), arch_dataloader=...)
# (EA-LS: model.selector={{_base_.evolution_selector}}, train_cfg type
# 'rlpkd.EvolutionSearchLoop' with proxy_iters and learners=dict(ea={{_base_.evolution_learner}})).
# Each search writes work_dir/search_result.json (the subset found: `levels`; EA-LS
# also `level_weights`) and work_dir/search_cost.json; the subset is then retrained with
#   model.selector=dict(type='rlpkd.FixedSelector', levels_from='<work_dir>/search_result.json')
# (configs/nas/*-retrain_*.py).
darts_selector = dict(
    _delete_=True,  # replaces the uniform selector
    type='rlpkd.DARTSSelector',
    budget=0.25,          # cost fraction of the derived subset (RL-PyramidKD's demo: 0.247)
    max_levels=None,      # or at most k levels
    unrolled_lr=None,     # xi of the virtual step: None = the student's current lr (DARTS)
    distill_weight=4.0,   # = model.distill_weight of the uniform-KD base (the loss scale)
    hypergradient='exact',  # or 'finite_difference' (DARTS eq. 8)
    task_grad=True)       # the virtual step includes the training batch's task gradient
gdas_selector = dict(darts_selector, type='rlpkd.GDASSelector', tau_max=10.0, tau_min=0.1)

# Adam on alpha as in DARTS (Liu et al. 2019, sec. 3.1.2); cost_weight = lambda of
# lambda * sum_l p(use)_l * cost_l (cost fractions). The toy detector's hypergradients
# are ~1e-6-1e-5 per entry at the start of the search.
arch_learner = dict(type='rlpkd.ArchitectureLearner', lr=3e-4, betas=(0.5, 0.999),
                    weight_decay=1e-3, cost_weight=1e-4)

# logs the architecture steps: train/nas/val_loss, expected_cost, p_use_<level>, ...
custom_hooks = [dict(type='rlpkd.PolicyStatsHook')]

# EA-LS: regularised evolution (Real et al. 2019) over per-level loss weights, each
# candidate scored by the held-out task loss after a short proxy training from the
# warm-up state: fitness = -val_loss - cost_weight * cost fraction.
evolution_selector = dict(
    _delete_=True,
    type='rlpkd.EvolutionSelector',
    choices=(0.0, 0.5, 1.0, 2.0),  # per level: 4^4 = 256 candidates (0: not distilled)
    fitness_seed=0)                # proposal / RoI sampling of the held-out loss
evolution_learner = dict(type='rlpkd.EvolutionLearner', population_size=8, sample_size=3,
                         cost_weight=0.05, seed=0)
