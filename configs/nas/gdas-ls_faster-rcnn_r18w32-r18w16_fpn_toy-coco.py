# GDAS-LS on the CPU toy data: the DARTS-LS toy search with one hard subset sampled
# per weight step (Gumbel-max), tau annealed linearly 10 -> 0.1 over the search epochs.
_base_ = './darts-ls_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'
model = dict(selector={{_base_.gdas_selector}})
