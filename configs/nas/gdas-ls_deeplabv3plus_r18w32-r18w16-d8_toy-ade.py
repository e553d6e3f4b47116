# GDAS-LS on the CPU toy segmentation data: the DARTS-LS toy search with one hard
# subset sampled per weight step (Gumbel-max), tau annealed linearly 10 -> 0.1.
_base_ = './darts-ls_deeplabv3plus_r18w32-r18w16-d8_toy-ade.py'
model = dict(selector={{_base_.gdas_selector}})
