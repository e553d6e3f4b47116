"""The level-selection MDP on the toy DeepLabV3+ pair: backbone taps, dilated levels.

mmseg's -d8 ResNets keep res3-res5 at stride 8, so the per-level costs must follow
the real shapes (channels grow, resolution does not halve) and the state must take
the channels as they are.
"""
import pytest
import torch

from rlpkd.rl.environment import ParallelDistillationEnv
from rlpkd.testing import build_from_config, seg_batch

TOY_SEG = 'rlpkd::deeplabv3plus/kd-uniform_deeplabv3plus_r18w32-r18w16-d8_toy-ade.py'


@pytest.fixture(scope='module')
def env():
    torch.manual_seed(0)
    distiller = build_from_config(TOY_SEG)
    distiller.eval()  # BN statistics per sample, so batched == one by one
    return ParallelDistillationEnv(distiller, lambda_tradeoff=0.5, lookahead_lr=0.05)


def test_pyramid_shapes_are_dilated(env):
    with torch.no_grad():
        _, feats = env.pair.extract(seg_batch(env.pair.student)['inputs'])
    assert [tuple(f.shape[1:]) for f in feats] == [
        (32, 16, 16), (64, 8, 8), (128, 8, 8), (256, 8, 8)]


def test_costs_follow_channels_where_strides_are_equal(env):
    flops = env.cost_model.flops
    res2, res3, res4, res5 = flops.tolist()
    # Same 8x8 resolution: cost grows with channels (loss x2, connector x4 per level),
    # where an FPN-style "resolution halves per level" model would shrink it 4x.
    assert res3 < res4 < res5
    assert 2.0 <= res4 / res3 <= 4.0 and 2.0 <= res5 / res4 <= 4.0
    # res2 has 4x the pixels of res3 at half the channels.
    assert res2 > res3
    torch.testing.assert_close(env.cost_model.fractions.sum(), torch.tensor(1.0))


def test_state_takes_the_student_channels(env):
    states = env.reset(seg_batch(env.pair.student, num_images=3)['inputs'])
    # student levels of 16 / 32 / 64 / 128 channels, each projected to 256; global res5
    assert env.state_builder.level_channels == (16, 32, 64, 128)
    assert env.state_dim == 512 + 4 * 256 + 1 + 4 + 1
    assert states.shape == (3, env.state_dim) and torch.isfinite(states).all()


def test_rewards_on_backbone_levels(env):
    inputs = seg_batch(env.pair.student, num_images=3, seed=1)['inputs']
    env.reset(inputs)
    _, reward, done, info = env.step(torch.ones(3, 4))
    torch.testing.assert_close(info['improvement'], torch.ones(3))
    torch.testing.assert_close(reward, torch.ones(3))
    assert done.all()
    env.reset(inputs)
    _, reward, _, info = env.step(torch.tensor([[0, 0, 0, 1.], [0, 1, 0, 0], [1, 1, 1, 1]]))
    assert info['selected_layers'] == [['res5'], ['res3'], ['res2', 'res3', 'res4', 'res5']]
    assert info['used_cost'][0] > info['used_cost'][1]   # res5 dearer than res3 here
    assert torch.isfinite(reward).all()
