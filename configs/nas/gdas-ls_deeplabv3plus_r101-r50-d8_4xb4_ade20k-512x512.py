# GDAS-LS at full scale, DeepLabV3+ R101-D8 -> R50-D8 on ADE20K: the DARTS-LS search with
# one hard subset sampled per weight step (Gumbel-max), tau annealed linearly 10 -> 0.1
# over the search iterations. Not run by us.
_base_ = './darts-ls_deeplabv3plus_r101-r50-d8_4xb4_ade20k-512x512.py'
model = dict(selector={{_base_.gdas_selector}})
