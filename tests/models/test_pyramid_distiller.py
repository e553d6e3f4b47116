"""PyramidDistiller on real mmdet Faster R-CNN models."""
import pytest
import torch

from rlpkd.models.selectors import LevelSelector, Selection, SelectionContext
from rlpkd.testing import build_distiller, det_batch


def total_loss(losses: dict) -> torch.Tensor:
    return sum(v for k, v in losses.items() if 'loss' in k and isinstance(v, torch.Tensor))


def test_unmodified_mmdet_configs_train_step():
    """R101 teacher / R50 student straight from mmdet's configs, one train step."""
    torch.manual_seed(0)
    model = build_distiller(
        student=dict(cfg_path='mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'),
        teacher=dict(cfg_path='mmdet::faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py'),
        connector=None)  # both FPNs have 256 channels: no connector needed
    assert len(model.connectors) == 0
    model.train()
    losses = model(**det_batch(model), mode='loss')
    for name in ('loss_distill', 'distill_P2', 'distill_P5', 'loss_rpn_cls'):
        assert name in losses
    assert torch.isfinite(losses['loss_distill']) and losses['loss_distill'] > 0
    losses['loss_distill'].backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    assert not any(p.requires_grad for p in model.teacher.parameters())
    neck_grads = [p.grad for p in model.student.neck.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in neck_grads)


def test_teacher_frozen_and_in_eval_mode(distiller):
    distiller.train()
    assert not distiller.teacher.training
    assert all(not m.training for m in distiller.teacher.modules())
    assert distiller.student.training
    before = {k: v.clone() for k, v in distiller.teacher.state_dict().items()}
    student_before = distiller.student.backbone.layer4[0].conv1.weight.clone()
    optim = torch.optim.SGD(distiller.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    for step in range(2):
        optim.zero_grad()
        total_loss(distiller(**det_batch(distiller, seed=step), mode='loss')).backward()
        optim.step()
    after = distiller.teacher.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # incl. BN running stats
    assert not torch.equal(student_before, distiller.student.backbone.layer4[0].conv1.weight)


def random_pyramid(batch: int = 3, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    sizes = [24, 12, 6, 3]
    student = [torch.randn(batch, 64, s, s, generator=gen).requires_grad_() for s in sizes]
    teacher = [torch.randn(batch, 128, s, s, generator=gen) for s in sizes]
    return student, teacher


def test_uniform_is_mean_over_levels(distiller):
    distiller.eval()
    student, teacher = random_pyramid()
    losses = distiller.distill_losses(student, teacher)
    per_level = torch.stack([distiller.pair.level_pair_loss(n, s, t).mean()
                             for n, s, t in zip(distiller.level_names, student, teacher)])
    torch.testing.assert_close(losses['loss_distill'], per_level.mean())
    for name, value in zip(distiller.level_names, per_level):
        torch.testing.assert_close(losses[f'distill_{name}'], value.detach())


def test_masked_levels_cost_nothing():
    distiller = build_distiller(selector=dict(type='FixedSelector', levels=['P3', 'P5']))
    distiller.eval()
    student, teacher = random_pyramid()
    losses = distiller.distill_losses(student, teacher)
    assert losses['distill_P2'] == 0 and losses['distill_P4'] == 0
    assert losses['distill_P3'] > 0 and losses['distill_P5'] > 0
    losses['loss_distill'].backward()
    assert student[0].grad is None and student[2].grad is None
    assert student[1].grad.abs().sum() > 0
    assert distiller.connectors['P2'].conv.conv.weight.grad is None
    # 2 of 4 levels kept: loss_distill = (P3 + P5) / 4
    torch.testing.assert_close(losses['loss_distill'],
                               (losses['distill_P3'] + losses['distill_P5']) / 4)


def test_per_sample_mask_only_computes_kept_pairs(distiller):
    distiller.eval()  # BN of the connectors must not depend on the subset
    student, teacher = random_pyramid(batch=4)
    mask = torch.tensor([[1, 0, 1, 0], [0, 0, 1, 1], [1, 0, 0, 0], [1, 0, 1, 1.]])
    pairs = distiller.pair.pair_losses(student, teacher, mask)
    full = distiller.pair.pair_losses(student, teacher, torch.ones(4, 4))
    torch.testing.assert_close(pairs, full * mask)
    pairs[:, 3].sum().backward()
    assert student[3].grad[[0, 2]].abs().sum() == 0
    assert student[3].grad[[1, 3]].abs().sum() > 0
    assert student[1].grad is None  # level no sample kept: never computed


def test_predict_is_the_students(distiller):
    distiller.eval()
    batch = det_batch(distiller)
    ours = distiller(**batch, mode='predict')
    theirs = distiller.student(**batch, mode='predict')
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a.pred_instances.bboxes, b.pred_instances.bboxes)


@pytest.mark.fault
def test_nan_loss_names_the_config_key(distiller):
    distiller.eval()
    student, teacher = random_pyramid()
    teacher[1] = teacher[1] * float('nan')
    with pytest.raises(FloatingPointError, match=r'model.level_loss.*P3'):
        distiller.distill_losses(student, teacher)


class _SoftSelector(LevelSelector):
    """A continuous relaxation's output: weight 0.01 on P2, 1 elsewhere."""

    def forward(self, context: SelectionContext) -> Selection:
        mask = torch.ones(context.batch_size, self.num_levels)
        mask[:, 0] = 0.01
        return Selection(mask=mask)


def test_soft_mask_reports_rate_and_mean_weight(distiller):
    selector = _SoftSelector()
    selector.bind(distiller.pair)
    distiller.selector = selector
    losses = distiller(**det_batch(distiller), mode='loss')
    assert float(losses['select_P2']) == 1.0   # kept (non-zero) for every sample ...
    assert float(losses['select_weight_P2']) == pytest.approx(0.01)  # ... at weight 0.01
    assert float(losses['select_weight_P3']) == 1.0


@pytest.mark.fault
def test_non_finite_task_loss_is_named_at_its_iteration(distiller):
    """A NaN in the student's own loss is reported as that term, not as a level loss."""
    batch = det_batch(distiller)
    batch['data_samples'][0].gt_instances.bboxes[0, 2] = float('nan')
    with pytest.raises(FloatingPointError, match=r"task loss `loss_\w+` is not finite"):
        distiller(**batch, mode='loss')
