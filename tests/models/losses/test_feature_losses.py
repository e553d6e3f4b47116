"""Per-sample feature losses against the published definitions / reference code."""
import pytest
import torch
import torch.nn.functional as F

from rlpkd.models.losses import ChannelWiseKLLoss, FeatureMSELoss, PKDLoss


def feats(batch=3, channels=5, size=(6, 7), seed=0):
    gen = torch.Generator().manual_seed(seed)
    s = torch.randn(batch, channels, *size, generator=gen)
    t = 3 * torch.randn(batch, channels, *size, generator=gen) + 1
    return s, t


def test_mse_per_sample():
    s, t = feats()
    out = FeatureMSELoss(loss_weight=2.0)(s, t)
    assert out.shape == (3,)
    torch.testing.assert_close(out, 2 * torch.stack([F.mse_loss(a, b) for a, b in zip(s, t)]))


def test_pkd_is_one_minus_pearson_per_channel():
    s, t = feats()
    out = PKDLoss(eps=0)(s, t)
    for b in range(3):
        r = torch.stack([torch.corrcoef(torch.stack([s[b, c].flatten(), t[b, c].flatten()]))[0, 1]
                         for c in range(5)])
        torch.testing.assert_close(out[b], (1 - r).mean(), rtol=1e-4, atol=1e-5)


def test_pkd_matches_reference_for_one_sample():
    """mmrazor's PKDLoss (normalise each channel over N*H*W, MSE / 2) at N = 1."""
    s, t = feats(batch=1)

    def norm(x):
        c = x.shape[1]
        x = x.permute(1, 0, 2, 3).reshape(c, -1)
        return (x - x.mean(-1, keepdim=True)) / (x.std(-1, keepdim=True) + 1e-6)

    reference = F.mse_loss(norm(s), norm(t)) / 2
    # The reference divides by the unbiased std, we by the population std (the exact
    # Pearson form); the losses differ by the factor n / (n - 1), n = H * W.
    n = s.shape[2] * s.shape[3]
    torch.testing.assert_close(PKDLoss()(s, t)[0] * (n - 1) / n, reference,
                               rtol=1e-4, atol=1e-5)


def test_pkd_ignores_scale_and_offset():
    s, _ = feats()
    torch.testing.assert_close(PKDLoss()(s, 10 * s + 4), torch.zeros(3), atol=1e-5, rtol=0)


@pytest.mark.parametrize('tau', [1.0, 4.0])
def test_cwd_matches_reference(tau):
    """mmrazor's ChannelWiseDivergence divides the batch sum by C * N: our per-sample mean."""
    s, t = feats()
    n, c, h, w = s.shape
    soft_t = F.softmax(t.view(-1, h * w) / tau, dim=1)
    reference = torch.sum(soft_t * F.log_softmax(t.view(-1, h * w) / tau, dim=1)
                          - soft_t * F.log_softmax(s.view(-1, h * w) / tau, dim=1)) * tau ** 2
    reference = reference / (c * n)
    out = ChannelWiseKLLoss(tau=tau)(s, t)
    assert out.shape == (3,)
    torch.testing.assert_close(out.mean(), reference)
    assert (out > 0).all()
    torch.testing.assert_close(ChannelWiseKLLoss(tau=tau)(t, t), torch.zeros(3),
                               atol=1e-6, rtol=0)


@pytest.mark.bad_input
def test_shape_mismatch_is_an_error():
    s, t = feats()
    with pytest.raises(ValueError, match='differ in shape'):
        PKDLoss()(s, t[:, :2])


@pytest.mark.bad_input
@pytest.mark.parametrize('loss', [FeatureMSELoss(), PKDLoss(), ChannelWiseKLLoss()],
                         ids=lambda loss: type(loss).__name__)
def test_min_positions_is_where_the_loss_starts_to_teach(loss):
    """Below ``min_positions`` the loss and its gradient are identically zero (the check
    refuses such levels); at ``min_positions`` the student gets a gradient."""
    for positions in (loss.min_positions - 1, loss.min_positions):
        if positions < 1:
            continue
        s, t = feats(size=(1, positions))
        s.requires_grad_(True)
        value = loss.per_sample(s, t).sum()  # unchecked: the bare formula
        value.backward()
        teaches = bool(s.grad.abs().max() > 0)
        assert teaches == (positions >= loss.min_positions), positions
    if loss.min_positions > 1:
        with pytest.raises(ValueError, match=r'model.level_loss.*identically zero'):
            loss(*feats(size=(1, 1)))
