"""CostConstraint: dual ascent on the price of distillation cost, by hand."""
import pytest
import torch

from rlpkd.rl.budget import CostConstraint


def test_dual_ascent_by_hand():
    constraint = CostConstraint(target=0.5, multiplier_lr=0.5)
    rewards, used = torch.tensor([1.0, 1.0]), torch.tensor([1.0, 0.0])
    torch.testing.assert_close(constraint.price(rewards, used), rewards)  # μ = 0
    assert constraint.update(torch.tensor([0.8, 1.0])) == pytest.approx(0.2)  # 0.5·0.4
    torch.testing.assert_close(constraint.price(rewards, used), torch.tensor([0.8, 1.0]))
    # spending less than the target lowers the price, never below 0
    assert constraint.update(torch.tensor([0.3, 0.3])) == pytest.approx(0.1)
    assert constraint.update(torch.tensor([0.0, 0.0])) == 0.0


@pytest.mark.bad_input
def test_state_round_trip_and_bad_settings():
    constraint = CostConstraint(target=0.4)
    constraint.update(torch.tensor([1.0]))
    other = CostConstraint(target=0.4)
    other.load_state_dict(constraint.state_dict())
    assert other.multiplier == constraint.multiplier > 0
    with pytest.raises(ValueError, match='cost_target'):
        CostConstraint(target=0.0)
    with pytest.raises(ValueError, match='multiplier_lr'):
        CostConstraint(target=0.5, multiplier_lr=0.0)
