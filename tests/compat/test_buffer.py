"""RolloutBuffer: filling, shapes, errors, and a checkpoint round trip mid-rollout."""
import io

import pytest
import torch

from rlpkd.compat import RolloutBuffer

T, B, S, L = 4, 3, 5, 2


def _step(t: int) -> dict:
    gen = torch.Generator().manual_seed(t)
    return dict(state=torch.randn(B, S, generator=gen),
                action=torch.randint(0, 2, (B, L), generator=gen).float(),
                reward=torch.randn(B, generator=gen), value=torch.randn(B, generator=gen),
                log_prob=-torch.rand(B, generator=gen),
                done=torch.tensor([0.0, 1.0, float(t % 2)]))


def test_fill_and_as_rollout():
    buf = RolloutBuffer(T, B, S, L)
    value = torch.randn(B, requires_grad=True)
    for t in range(T):
        assert not buf.full
        step = _step(t)
        step['value'] = value * t                  # carries a graph: must be detached
        buf.add(**step)
    assert buf.full
    rollout = buf.as_rollout()
    assert set(rollout) == {'states', 'actions', 'rewards', 'values', 'log_probs', 'dones',
                            'last_values'}
    assert rollout['states'].shape == (T, B, S)
    assert rollout['actions'].shape == (T, B, L)
    for key in ('rewards', 'values', 'log_probs', 'dones'):
        assert rollout[key].shape == (T, B)
    assert not rollout['values'].requires_grad
    torch.testing.assert_close(rollout['last_values'], torch.zeros(B))
    torch.testing.assert_close(rollout['states'][2], _step(2)['state'])
    torch.testing.assert_close(rollout['dones'][:, 2], torch.tensor([0.0, 1.0, 0.0, 1.0]))
    last = torch.tensor([1.0, 2.0, 3.0])
    torch.testing.assert_close(buf.as_rollout(last)['last_values'], last)


@pytest.mark.bad_input
def test_errors_and_reset():
    buf = RolloutBuffer(T, B, S, L)
    with pytest.raises(RuntimeError):
        buf.as_rollout()                          # incomplete
    bad = _step(0)
    bad['action'] = torch.zeros(B, L + 1)
    with pytest.raises(ValueError):
        buf.add(**bad)
    for t in range(T):
        buf.add(**_step(t))
    with pytest.raises(RuntimeError):
        buf.add(**_step(0))                       # full
    buf.reset()
    assert buf.pos == 0 and not buf.full
    buf.add(**_step(9))
    assert buf.pos == 1


def test_state_dict_round_trip_mid_rollout():
    buf = RolloutBuffer(T, B, S, L)
    for t in range(2):
        buf.add(**_step(t))
    blob = io.BytesIO()
    torch.save(buf.state_dict(), blob)
    blob.seek(0)

    resumed = RolloutBuffer(T, B, S, L)
    resumed.load_state_dict(torch.load(blob))
    assert resumed.pos == 2
    for t in range(2, T):                         # both finish the same rollout
        buf.add(**_step(t))
        resumed.add(**_step(t))
    a, b = buf.as_rollout(), resumed.as_rollout()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)

    with pytest.raises(ValueError):
        RolloutBuffer(T + 1, B, S, L).load_state_dict(buf.state_dict())
