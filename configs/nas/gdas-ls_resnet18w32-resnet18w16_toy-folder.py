# GDAS-LS on the CPU toy classification data: the DARTS-LS toy search with one hard
# subset sampled per weight step (Gumbel-max), tau annealed linearly 10 -> 0.1.
_base_ = './darts-ls_resnet18w32-resnet18w16_toy-folder.py'
model = dict(selector={{_base_.gdas_selector}})
