# GDAS-LS at full scale, ResNet-101 -> ResNet-50 on ImageNet-1k: the DARTS-LS search with
# one hard subset sampled per weight step (Gumbel-max), tau annealed linearly 10 -> 0.1
# over the search epochs. Not run by us.
_base_ = './darts-ls_resnet101-resnet50_8xb32_in1k.py'
model = dict(selector={{_base_.gdas_selector}})
