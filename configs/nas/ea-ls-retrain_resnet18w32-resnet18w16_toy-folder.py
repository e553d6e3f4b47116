# Retrain what the EA-LS toy classification search found: uniform KD's toy schedule
# (whole training set, 6 epochs) with a FixedSelector reading the search's result;
# another result: --cfg-options model.selector.levels_from=<work_dir>/search_result.json
_base_ = '../resnet/kd-uniform_resnet18w32-resnet18w16_toy-folder.py'
model = dict(selector=dict(
    _delete_=True, type='rlpkd.FixedSelector',
    levels_from='work_dirs/ea-ls_resnet18w32-resnet18w16_toy-folder/search_result.json'))
# search + retrain in one work_dir/search_cost.json (the search's cost file + this run)
custom_hooks = [dict(type='rlpkd.RetrainCostHook')]
