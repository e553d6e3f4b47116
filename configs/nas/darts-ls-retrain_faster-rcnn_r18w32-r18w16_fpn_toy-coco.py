# Retrain the subset the DARTS-LS toy search found: uniform KD's toy schedule (whole
# training set, 12 epochs) with a FixedSelector reading the search's result; another
# result: --cfg-options model.selector.levels_from=<work_dir>/search_result.json
_base_ = '../faster_rcnn/kd-uniform_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'
model = dict(selector=dict(
    _delete_=True, type='rlpkd.FixedSelector',
    levels_from='work_dirs/darts-ls_faster-rcnn_r18w32-r18w16_fpn_toy-coco/'
                'search_result.json'))
# search + retrain in one work_dir/search_cost.json (the search's cost file + this run)
custom_hooks = [dict(type='rlpkd.RetrainCostHook')]
