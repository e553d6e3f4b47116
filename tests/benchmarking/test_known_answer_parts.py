"""The known-answer benchmark's wrong teacher: which level of which image it replaces."""
import json

import pytest
import torch

from rlpkd.benchmarking.parts import GroupOracleSelector, KnownAnswerDistiller, KnownAnswers
from rlpkd.models.selectors import SelectionContext
from rlpkd.testing import build_distiller, det_batch

GROUPS = ('large', 'small', 'mixed')


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """Annotation files naming each image's size group, and a batch of those images."""
    root = tmp_path_factory.mktemp('ann')
    ann = root / 'instances_val.json'
    ann.write_text(json.dumps(dict(images=[
        dict(file_name=f'{g}.png', size_group=g) for g in GROUPS])))
    torch.manual_seed(0)
    model = build_distiller(type='KnownAnswerDistiller', ann_files=[str(ann)],
                            corruption='flip')
    model.eval()
    batch = det_batch(model, num_images=3)
    for sample, group in zip(batch['data_samples'], GROUPS):
        sample.set_metainfo(dict(img_path=f'/data/val/{group}.png'))
    return model, batch, str(ann)


WRONG = {'flip': lambda t: t.flip(-1),
         'erase': lambda t: t.mean(dim=(-2, -1), keepdim=True).expand_as(t)}


@pytest.mark.parametrize('corruption', sorted(WRONG))
@torch.no_grad()
def test_the_groups_level_and_only_it_is_replaced(setup, corruption):
    model, batch, ann = setup
    wrong_teacher = build_distiller(type='KnownAnswerDistiller', ann_files=[ann],
                                    corruption=corruption)
    wrong_teacher.load_state_dict(model.state_dict())
    wrong_teacher.eval()
    clean = super(KnownAnswerDistiller, model).teacher_pyramid(batch['inputs'],
                                                               batch['data_samples'])
    wrong = wrong_teacher.teacher_pyramid(batch['inputs'], batch['data_samples'])
    corrupted = {(0, 3), (1, 0)}  # large image: P5; small image: P2; mixed: none
    for i in range(3):
        for level in range(4):
            target = clean[level][i]
            expected = WRONG[corruption](target) if (i, level) in corrupted else target
            torch.testing.assert_close(wrong[level][i], expected)
    assert not torch.equal(wrong[3][0], clean[3][0])


@torch.no_grad()
def test_noise_keeps_the_levels_statistics_and_is_fixed_per_image(setup):
    model, batch, ann = setup
    noisy = build_distiller(type='KnownAnswerDistiller', ann_files=[ann], corruption='noise')
    noisy.load_state_dict(model.state_dict())
    noisy.eval()
    clean = super(KnownAnswerDistiller, model).teacher_pyramid(batch['inputs'],
                                                               batch['data_samples'])
    first = noisy.teacher_pyramid(batch['inputs'], batch['data_samples'])
    again = noisy.teacher_pyramid(batch['inputs'], batch['data_samples'])
    torch.testing.assert_close(first[3][0], again[3][0])
    assert not torch.allclose(first[3][0], clean[3][0])
    torch.testing.assert_close(first[3][0].std(), clean[3][0].std(), rtol=0.05, atol=1e-6)
    torch.testing.assert_close(first[2], clean[2])


@pytest.mark.bad_input
def test_an_unknown_corruption_names_the_key(setup):
    with pytest.raises(ValueError, match=r'model\.corruption'):
        build_distiller(type='KnownAnswerDistiller', ann_files=[setup[2]], corruption='blur')


def test_all_but_one_layout_keeps_one_right_level_per_image_cycling_over_the_split(tmp_path):
    ann = tmp_path / 'instances_val.json'
    ann.write_text(json.dumps(dict(images=[
        dict(file_name=f'{i:02d}.png', size_group=GROUPS[i % 3]) for i in range(6)])))
    answers = KnownAnswers([str(ann)], layout='all_but_one')
    kept = [answers.answer(f'/data/val/{i:02d}.png') for i in range(6)]
    assert kept == [(1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1),
                    (1, 0, 0, 0), (0, 1, 0, 0)]
    assert answers.answer('/data/val/unknown.png') == (1, 1, 1, 1)
    assert KnownAnswers([str(ann)]).answer('/data/val/00.png') == (1, 1, 1, 0)  # large


@torch.no_grad()
def test_all_but_one_layout_corrupts_every_other_level_and_the_oracle_keeps_the_right_one(
        setup):
    model, batch, ann = setup
    wrong_teacher = build_distiller(type='KnownAnswerDistiller', ann_files=[ann],
                                    corruption='erase', layout='all_but_one')
    wrong_teacher.load_state_dict(model.state_dict())
    wrong_teacher.eval()
    clean = super(KnownAnswerDistiller, model).teacher_pyramid(batch['inputs'],
                                                               batch['data_samples'])
    wrong = wrong_teacher.teacher_pyramid(batch['inputs'], batch['data_samples'])
    # file-name order large.png, mixed.png, small.png: right levels P2, P3, P4
    right = {GROUPS.index('large'): 0, GROUPS.index('mixed'): 1, GROUPS.index('small'): 2}
    for i in range(3):
        for level in range(4):
            expected = clean[level][i] if level == right[i] else \
                WRONG['erase'](clean[level][i])
            torch.testing.assert_close(wrong[level][i], expected)
    oracle = GroupOracleSelector(ann_files=[ann], layout='all_but_one')
    mask = oracle(SelectionContext(student_feats=clean, teacher_feats=wrong,
                                   level_names=('P2', 'P3', 'P4', 'P5'),
                                   data_samples=batch['data_samples'])).mask
    assert mask.tolist() == [[float(level == right[i]) for level in range(4)]
                             for i in range(3)]


@pytest.mark.bad_input
def test_an_unknown_layout_names_the_key(setup):
    with pytest.raises(ValueError, match=r'model\.layout'):
        build_distiller(type='KnownAnswerDistiller', ann_files=[setup[2]], layout='half')
