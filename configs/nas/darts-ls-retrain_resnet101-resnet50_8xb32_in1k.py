# Retrain what the full-scale DARTS-LS search found: uniform KD's 100 epochs on the whole
# ImageNet-1k training set with a FixedSelector reading the search's result; another
# result: --cfg-options model.selector.levels_from=<work_dir>/search_result.json
_base_ = '../resnet/kd-uniform_resnet101-resnet50_8xb32_in1k.py'
model = dict(selector=dict(
    _delete_=True, type='rlpkd.FixedSelector',
    levels_from='work_dirs/darts-ls_resnet101-resnet50_8xb32_in1k/search_result.json'))
# search + retrain in one work_dir/search_cost.json (the search's cost file + this run)
custom_hooks = [dict(type='rlpkd.RetrainCostHook')]
