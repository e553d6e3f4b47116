"""PyramidTap.substitute: the model's forward pass sees the given levels instead."""
import torch
from torch import nn

from rlpkd.pyramid.taps import PyramidTap


class Stages(nn.Module):
    """Two stages (one level each) and a neck-like module returning a tuple."""

    def __init__(self):
        super().__init__()
        self.stage1 = nn.Conv2d(1, 1, 1, bias=False)
        self.stage2 = nn.Conv2d(1, 1, 1, bias=False)
        nn.init.constant_(self.stage1.weight, 2.0)
        nn.init.constant_(self.stage2.weight, 3.0)

    def forward(self, x):
        a = self.stage1(x)
        return a, self.stage2(a)


def test_substitute_replaces_tuple_outputs_and_is_undone():
    model = nn.Sequential()
    model.add_module('neck', Stages())
    tap = PyramidTap(model, module='neck', indices=(0, 1))
    x, fake = torch.ones(1, 1, 2, 2), torch.full((1, 1, 2, 2), 7.0)
    with tap.substitute({0: fake}):
        first, second = model.neck(x)
    assert torch.equal(first, fake) and torch.equal(second, torch.full_like(x, 6.0))
    assert torch.equal(model.neck(x)[0], torch.full_like(x, 2.0))  # hooks removed


def test_substitute_with_one_module_per_level_flows_into_later_levels():
    model = Stages()
    tap = PyramidTap(model, modules=('stage1', 'stage2'))
    x, fake = torch.ones(1, 1, 2, 2), torch.full((1, 1, 2, 2), 5.0)
    with tap.substitute({0: fake}), tap.record() as levels:
        model(x)
    assert torch.equal(levels[0], fake) and torch.equal(levels[1], torch.full_like(x, 15.0))
