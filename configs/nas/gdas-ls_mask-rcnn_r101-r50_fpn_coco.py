# GDAS-LS at full scale, Mask R-CNN R101-FPN -> R50-FPN on COCO 2017: the DARTS-LS
# search with one hard subset sampled per weight step (Gumbel-max), tau annealed
# linearly 10 -> 0.1 over the search epochs. Not run by us.
_base_ = './darts-ls_mask-rcnn_r101-r50_fpn_coco.py'
model = dict(selector={{_base_.gdas_selector}})
