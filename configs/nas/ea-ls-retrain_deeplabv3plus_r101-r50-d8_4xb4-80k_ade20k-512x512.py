# Retrain what the full-scale EA-LS search found: uniform KD's 80k iterations on the
# whole ADE20K training set with a FixedSelector reading the search's result; another
# result: --cfg-options model.selector.levels_from=<work_dir>/search_result.json
_base_ = '../deeplabv3plus/kd-uniform_deeplabv3plus_r101-r50-d8_4xb4-80k_ade20k-512x512.py'
model = dict(selector=dict(
    _delete_=True, type='rlpkd.FixedSelector',
    levels_from='work_dirs/ea-ls_deeplabv3plus_r101-r50-d8_4xb4_ade20k-512x512/search_result.json'))
# search + retrain in one work_dir/search_cost.json (the search's cost file + this run)
custom_hooks = [dict(type='rlpkd.RetrainCostHook')]
