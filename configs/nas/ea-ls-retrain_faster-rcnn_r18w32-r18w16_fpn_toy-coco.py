# Retrain the level weights the EA-LS toy search found (the kept levels of its result,
# each distilled with its weight; see the DARTS-LS retrain config).
_base_ = './darts-ls-retrain_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'
model = dict(selector=dict(
    levels_from='work_dirs/ea-ls_faster-rcnn_r18w32-r18w16_fpn_toy-coco/'
                'search_result.json'))
