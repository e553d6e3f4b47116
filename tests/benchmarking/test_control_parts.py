"""The curriculum control: every level in the uniform phases, its subset otherwise."""

import torch

import rlpkd.benchmarking.parts  # noqa: F401  (registers CurriculumSelector)
from rlpkd.models.selectors import SelectionContext
from rlpkd.testing import build_distiller


def test_curriculum_keeps_every_level_only_in_uniform_training():
    selector = build_distiller(selector=dict(type='CurriculumSelector',
                                             levels=['P3', 'P4', 'P5'])).selector
    feats = [torch.zeros(2, 4, 8, 8) for _ in range(4)]
    context = SelectionContext(feats, feats, ('P2', 'P3', 'P4', 'P5'))
    selector.train()
    selector.set_mode('uniform')
    torch.testing.assert_close(selector(context).mask, torch.ones(2, 4))
    subset = torch.tensor([[0., 1, 1, 1]] * 2)
    selector.set_mode('sample')
    torch.testing.assert_close(selector(context).mask, subset)
    selector.set_mode('uniform')
    selector.eval()  # the test set sees the subset
    torch.testing.assert_close(selector(context).mask, subset)
    assert selector.collect_experience() is None
    assert not list(selector.learnable().parameters())
