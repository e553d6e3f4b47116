# Retrain what the DARTS-LS toy segmentation search found: uniform KD's toy schedule
# (whole training set, 12 epochs) with a FixedSelector reading the search's result;
# another result: --cfg-options model.selector.levels_from=<work_dir>/search_result.json
_base_ = '../deeplabv3plus/kd-uniform_deeplabv3plus_r18w32-r18w16-d8_toy-ade.py'
model = dict(selector=dict(
    _delete_=True, type='rlpkd.FixedSelector',
    levels_from='work_dirs/darts-ls_deeplabv3plus_r18w32-r18w16-d8_toy-ade/search_result.json'))
# search + retrain in one work_dir/search_cost.json (the search's cost file + this run)
custom_hooks = [dict(type='rlpkd.RetrainCostHook')]
