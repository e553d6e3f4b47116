"""eval_mode restores every submodule's own mode; reductions are identities on one rank."""
import pytest
import torch
from torch import nn

from rlpkd.utils import eval_mode, mean_over_ranks, sum_over_ranks


def test_eval_mode_restores_each_submodule():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.Sequential(nn.ReLU()))
    model.train()
    model[1].eval()  # a frozen BN inside a training model must stay frozen
    with eval_mode(model):
        assert not any(m.training for m in model.modules())
    assert model.training and not model[1].training and model[2][0].training


@pytest.mark.fault
def test_eval_mode_restores_after_an_error():
    model = nn.Linear(2, 2)
    try:
        with eval_mode(model):
            raise RuntimeError('boom')
    except RuntimeError:
        pass
    assert model.training


def test_reductions_on_one_process():
    a, b = torch.tensor([1.0, 2.0]), torch.ones(2, 3, dtype=torch.float64)
    sums = sum_over_ranks([a, b])
    assert torch.equal(sums[0], a) and sums[1].dtype == torch.float64
    sums[0].add_(1)
    assert torch.equal(a, torch.tensor([1.0, 2.0]))  # a copy, the input is untouched
    assert torch.equal(mean_over_ranks([a])[0], a)
