# Retrain what the full-scale EA-LS search found: uniform KD's 1x schedule on the
# whole of train2017 with a FixedSelector reading the search's result; another result:
# --cfg-options model.selector.levels_from=<work_dir>/search_result.json
_base_ = '../mask_rcnn/kd-uniform_mask-rcnn_r101-r50_fpn_1x_coco.py'
model = dict(selector=dict(
    _delete_=True, type='rlpkd.FixedSelector',
    levels_from='work_dirs/ea-ls_mask-rcnn_r101-r50_fpn_coco/search_result.json'))
# search + retrain in one work_dir/search_cost.json (the search's cost file + this run)
custom_hooks = [dict(type='rlpkd.RetrainCostHook')]
