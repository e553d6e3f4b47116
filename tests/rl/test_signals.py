"""State signals (rlpkd/rl/signals.py) on the real toy detection pair."""
import pytest
import torch
from mmengine.config import Config

from rlpkd.models.utils import config_file
from rlpkd.pyramid.functional import TaskInputs, fixed_seed_task_loss
from rlpkd.rl.signals import RunningStandardiser, attention_agreement
from rlpkd.rl.state import StateLayout, check_fields
from rlpkd.testing import build_from_config, det_batch

CONFIG = 'rlpkd::faster_rcnn/rlpkd-levelcredit_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'


def test_running_statistics_are_those_of_all_rows_seen():
    gen = torch.Generator().manual_seed(0)
    rows = torch.randn(50, 3, generator=gen) * torch.tensor([1.0, 5.0, 0.1]) + 3.0
    standardiser = RunningStandardiser(3)
    for chunk in rows.split((7, 20, 1, 22)):
        standardiser(chunk)
    torch.testing.assert_close(standardiser.mean.float(), rows.mean(dim=0))
    torch.testing.assert_close(standardiser.var.float(), rows.var(dim=0, unbiased=False))
    standardiser.eval()  # frozen: eval rows do not move the statistics
    out = standardiser(torch.full((4, 3), 100.0))
    assert standardiser.count == 50
    assert torch.equal(out, torch.full((4, 3), 5.0))  # clipped at +5


def test_unknown_repeated_or_no_field_names_the_key():
    for fields in (('discrepancy', 'confidence'), ('reliability', 'reliability'), ()):
        with pytest.raises(ValueError, match='model.selector.state_fields'):
            check_fields(fields)


def test_fields_take_the_canonical_order_and_the_default_is_the_prototypes():
    assert StateLayout.pyramid(4).dim == 1542
    layout = StateLayout.pyramid(4, fields=('reliability', 'discrepancy'))
    assert [name for name, _ in layout.fields] == ['discrepancy', 'reliability', 'selected',
                                                   'budget']
    assert layout.dim == 10


@pytest.mark.parametrize('field', ['discrepancy', 'agreement'])
def test_teacher_signals_need_the_teacher_before_the_decision(field):
    from rlpkd.models.selectors import RLSelector
    with pytest.raises(ValueError, match=f"'{field}' reads the teacher.*state_gap='teacher'"):
        RLSelector(state_gap='none', state_fields=(field, ))


def blob_pyramid(mirrored) -> list:
    """A 4-level pyramid ``[2, 8, s, s]`` (s = 32, 16, 8, 4) whose activations are a blob
    in the upper left of the image; levels in ``mirrored`` have it mirrored left-right."""
    pyramid = []
    for level, side in enumerate((32, 16, 8, 4)):
        ys, xs = torch.meshgrid(torch.linspace(0, 1, side), torch.linspace(0, 1, side),
                                indexing='ij')
        blob = torch.exp(-((xs - 0.2) ** 2 + (ys - 0.3) ** 2) / 0.02)
        blob = blob.flip(-1) if level in mirrored else blob
        pyramid.append(blob.expand(2, 8, side, side) + 0.01 * level)
    return pyramid


def test_the_odd_level_out_gets_the_lowest_agreement():
    one_wrong = attention_agreement(blob_pyramid(mirrored={2}))          # [2, 4]
    assert one_wrong.shape == (2, 4) and (one_wrong.argmin(dim=1) == 2).all()
    assert one_wrong[0, 2] < 0 < one_wrong[0, [0, 1, 3]].min()
    all_but_one = attention_agreement(blob_pyramid(mirrored={0, 1, 3}))
    assert (all_but_one.argmin(dim=1) == 2).all()                         # the right one
    agree = attention_agreement(blob_pyramid(mirrored=set()))
    assert (agree[:, 2] > one_wrong[:, 2] + 1.0).all() and agree.min() > 0.4  # 4x4: coarse
    with pytest.raises(ValueError, match='at least 2'):
        attention_agreement(blob_pyramid(mirrored=set())[:1])


@pytest.fixture(scope='module')
def distiller():
    """The level-credit config's distiller with both signals in the state."""
    torch.manual_seed(0)
    cfg = Config.fromfile(config_file(CONFIG))
    assert cfg.model.selector.state_fields == ('discrepancy', )
    return build_from_config(CONFIG, selector=dict(
        cfg.model.selector, state_fields=('discrepancy', 'reliability'))).train()


def states_of(distiller, batch, corrupt=None):
    """States of a preprocessed batch against a teacher the student matches (its own
    connector-mapped pyramid, + 10 % noise), with teacher level ``corrupt = (sample,
    level)`` replaced by noise of the level's mean and standard deviation."""
    inputs, samples = batch['inputs'], batch['data_samples']
    pair, env = distiller.pair, distiller.selector.env
    gen = torch.Generator().manual_seed(len(samples))
    with env.observe() as observed:
        student, _ = pair.extract(inputs)
    with torch.no_grad():
        teacher = [pair.connectors[name](feat) for name, feat in
                   zip(pair.level_names, student)]
        teacher = [t + 0.1 * t.std() * torch.randn(t.shape, generator=gen) for t in teacher]
    if corrupt is not None:
        sample, level = corrupt
        target = teacher[level][sample]
        teacher[level][sample] = target.mean() + target.std() * torch.randn(
            target.shape, generator=gen)
    return env.states(observed, student, teacher, task=TaskInputs(inputs, samples))[0]


def test_the_state_is_the_signal_fields(distiller):
    layout = distiller.selector.env.layout
    assert layout.names() == ('discrepancy', 'reliability', 'selected', 'budget')
    assert layout['discrepancy'] == slice(0, 4) and layout.dim == 10
    assert distiller.selector.policy.state_dim == 10


def test_a_corrupted_level_gets_the_largest_standardised_discrepancy(distiller):
    env = distiller.selector.env
    env.train()
    for seed in range(4):  # running statistics of clean batches
        states_of(distiller, det_batch(distiller, num_images=4, seed=seed))
    env.eval()
    states = states_of(distiller, det_batch(distiller, num_images=4, seed=9), corrupt=(2, 3))
    discrepancy = env.layout.read(states, 'discrepancy')              # [4, L]
    assert discrepancy.argmax() == 2 * 4 + 3
    assert discrepancy[2, 3] > discrepancy[[0, 1, 3]].max() + 1.0
    keys = distiller.selector.state_dict()
    assert 'env.signals.standardisers.discrepancy.mean' in keys
    assert keys['env.signals.standardisers.discrepancy.count'] == 16


def test_reliability_is_the_teacher_loss_on_each_image_alone(distiller):
    batch = det_batch(distiller, num_images=2, seed=3)
    task = TaskInputs(batch['inputs'], batch['data_samples'])
    losses = distiller.pair.teacher_task_loss(task)
    alone = fixed_seed_task_loss(distiller.pair.teacher,
                                 TaskInputs(batch['inputs'][1:], batch['data_samples'][1:]))
    assert losses.shape == (2, ) and torch.isfinite(losses).all()
    torch.testing.assert_close(losses[1], alone)
    with pytest.raises(ValueError, match='reliability'):
        env = distiller.selector.env
        with env.observe() as observed:
            student, teacher = distiller.pair.extract(batch['inputs'])
        env.states(observed, student, teacher)
