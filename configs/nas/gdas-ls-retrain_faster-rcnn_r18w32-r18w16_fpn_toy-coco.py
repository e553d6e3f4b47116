# Retrain the subset the GDAS-LS toy search found (see the DARTS-LS retrain config).
_base_ = './darts-ls-retrain_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'
model = dict(selector=dict(
    levels_from='work_dirs/gdas-ls_faster-rcnn_r18w32-r18w16_fpn_toy-coco/'
                'search_result.json'))
