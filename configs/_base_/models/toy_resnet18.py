# mmpretrain's ResNet-18 classifier for the 3-class toy data, trained from scratch.
# The backbone outputs all four stages (res2-res5) so that the same model is the
# plain baseline and the distilled student; the head reads the last one.
# Trained from scratch with PyTorch's default initialisation: with mmpretrain's
# (Kaiming fan-out, zero-initialised last BN of each block) it stays near chance for
# hundreds of iterations on this data. Width is set by the configs that inherit this.
_base_ = 'mmpretrain::_base_/models/resnet18.py'
model = dict(
    backbone=dict(out_indices=(0, 1, 2, 3), zero_init_residual=False, init_cfg=None),
    head=dict(num_classes=3, topk=(1, )))
