"""The known-answer benchmark's wrong teacher: which level of which image it replaces."""
import json

import pytest
import torch

from rlpkd.benchmarking.parts import KnownAnswerDistiller
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
