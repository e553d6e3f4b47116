"""The state has the same named layout for every network."""
import pytest
import torch

from rlpkd.rl.state import StateBuilder, StateLayout


def test_layout_fields_by_name():
    layout = StateLayout.pyramid(num_levels=4)
    assert layout.dim == 1542
    assert layout['global'] == slice(0, 512)
    assert layout['levels'] == slice(512, 1536)
    assert layout['gap'] == slice(1536, 1537)
    assert layout['selected'] == slice(1537, 1541)
    assert layout['budget'] == slice(1541, 1542)
    state = torch.arange(2 * 1542, dtype=torch.float32).view(2, 1542)
    fields = layout.split(state)
    assert torch.equal(torch.cat(list(fields.values()), dim=1), state)
    with pytest.raises(KeyError, match="no field 'loss'"):
        layout['loss']


@pytest.mark.parametrize('channels,global_channels', [((64, 64, 64, 64), 128),
                                                      ((16, 32, 64, 128), 256),
                                                      ((256, 256, 256, 256), 512)])
def test_state_size_does_not_depend_on_the_network(channels, global_channels):
    builder = StateBuilder(channels, global_channels)
    assert builder.state_dim == 1542
    feats = [torch.randn(3, c, 8, 8) for c in channels]
    state = builder(torch.randn(3, global_channels, 4, 4), feats, torch.rand(3),
                    budget=torch.full((3,), 0.4))
    assert state.shape == (3, 1542) and torch.isfinite(state).all()
    assert torch.all(builder.layout.read(state, 'budget') == 0.4)


def test_projection_is_identity_where_sizes_match():
    builder = StateBuilder((256, 64, 256, 256), 512)
    assert torch.equal(builder.global_projection, torch.eye(512))
    assert torch.equal(builder.level_projection_0, torch.eye(256))
    assert builder.level_projection_1.shape == (64, 256)
    # seeded: the same network gives the same projections (they are in the checkpoint)
    again = StateBuilder((256, 64, 256, 256), 512)
    assert torch.equal(builder.level_projection_1, again.level_projection_1)
    assert 'level_projection_1' in builder.state_dict()
