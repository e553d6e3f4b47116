"""DARTS-LS / GDAS-LS selectors on the real toy Faster R-CNN distiller (64x64 images)."""
import copy

import pytest
import torch

from rlpkd.learners import ArchitectureLearner
from rlpkd.models.selectors import GDASSelector
from rlpkd.pyramid.functional import total_loss
from rlpkd.testing import build_distiller, det_batch
from rlpkd.utils import eval_mode

XI, WEIGHT = 0.02, 4.0


@pytest.fixture(scope='module')
def searched():
    """The toy distiller with a DARTS selector, one recorded search step (2 training
    images) and one held-out image; the record is kept for re-computations."""
    torch.manual_seed(0)
    distiller = build_distiller(selector=dict(type='DARTSSelector', unrolled_lr=XI,
                                              distill_weight=WEIGHT, budget=0.5))
    distiller.train()
    train = det_batch(distiller, num_images=2, size=(64, 64), seed=0)
    val = det_batch(distiller, num_images=1, size=(64, 64), seed=1)
    selector = distiller.selector
    selector.set_mode('search')
    selector.request_experience()
    losses = distiller(**train, mode='loss')
    record = selector.pending
    selector.record_validation(val['inputs'], val['data_samples'])
    experience = selector.collect_experience()
    return dict(distiller=distiller, train=train, val=val, record=record, losses=losses,
                experience=experience)


def test_search_mode_mixes_levels_by_p_use(searched):
    p_use = searched['distiller'].selector.use_probability()
    weights = torch.stack([searched['losses'][f'select_weight_{n}'] for n in
                           ('P2', 'P3', 'P4', 'P5')])
    torch.testing.assert_close(weights, p_use)  # soft mask [B, L] = p(use) per sample
    torch.testing.assert_close(searched['record'].weights, p_use)


def replace_parameters(module: torch.nn.Module, values: dict) -> None:
    """Put (non-leaf) tensors in place of ``module``'s parameters."""
    for name, value in values.items():
        owner, _, leaf = name.rpartition('.')
        sub = module.get_submodule(owner) if owner else module
        del sub._parameters[leaf]
        setattr(sub, leaf, value)


def task_loss(student, batch) -> torch.Tensor:
    with eval_mode(student), torch.random.fork_rng():
        torch.manual_seed(0)
        return total_loss(student.loss(batch['inputs'], batch['data_samples']))


def test_hypergradient_equals_autograd_through_an_explicit_virtual_step(searched):
    """Re-computation with plain autograd on a copy of the student: the neck's virtual
    step on the recorded training images (α-weighted level losses + task loss), put
    into the copy, the held-out task loss, differentiated w.r.t. α."""
    distiller, record = searched['distiller'], searched['record']
    pair, selector = distiller.pair, distiller.selector
    student = copy.deepcopy(distiller.student)
    alpha = selector.architecture.alpha.detach().clone().requires_grad_(True)
    names, params = zip(*student.neck.named_parameters())
    with eval_mode(student, pair.connectors):
        outs = student.neck(*record.args)
        gaps = torch.stack([pair.level_pair_loss(n, o, t) for n, o, t in
                            zip(pair.level_names, outs, record.teacher_feats)], dim=1)
        p_use = torch.softmax(alpha, dim=-1)[:, 1]
        train = WEIGHT / 4 * (p_use * gaps.mean(dim=0)).sum() + task_loss(student,
                                                                          searched['train'])
        grads = torch.autograd.grad(train, params, create_graph=True)
        replace_parameters(student.neck, {n: p - XI * g for n, p, g in
                                          zip(names, params, grads)})
        val = task_loss(student, searched['val'])
    (expected,) = torch.autograd.grad(val, alpha)
    hyper = searched['experience'].hypergradient[0]
    assert expected.abs().max() > 1e-7
    torch.testing.assert_close(hyper, expected, rtol=2e-3,
                               atol=2e-3 * float(expected.abs().max()))
    torch.testing.assert_close(searched['experience'].val_loss[0], val.detach(),
                               rtol=1e-4, atol=1e-5)


def test_first_order_gradient_of_the_task_loss_is_zero(searched):
    """At the current weights the held-out task loss has no path to α (α weights
    distillation losses only); the training loss does."""
    distiller = searched['distiller']
    selector, pair = distiller.selector, distiller.pair
    with selector.trainable() as architecture, eval_mode(distiller):
        alpha = architecture.alpha
        val = task_loss(distiller.student, searched['val'])
        student, teacher = pair.extract(searched['train']['inputs'])
        distill = (architecture.use_probability() * pair.pair_losses(
            student, teacher, torch.ones(2, 4)).mean(dim=0)).sum()
        assert torch.autograd.grad(val, alpha, allow_unused=True)[0] is None
        assert torch.autograd.grad(distill, alpha)[0].abs().max() > 0


def test_finite_difference_agrees_with_the_exact_hypergradient(searched):
    selector = searched['distiller'].selector
    selector.pending = searched['record']
    selector.record_validation(searched['val']['inputs'], searched['val']['data_samples'])
    selector.hypergradient = 'finite_difference'
    try:
        approx = selector.collect_experience().hypergradient[0]
    finally:
        selector.hypergradient = 'exact'
    exact = searched['experience'].hypergradient[0]
    torch.testing.assert_close(approx, exact, rtol=0.03,
                               atol=0.01 * float(exact.abs().max()))


def test_architecture_step_and_modes(searched):
    distiller = searched['distiller']
    selector = distiller.selector
    before = selector.architecture.alpha.detach().clone()
    learner = ArchitectureLearner(selector)
    learner.add(searched['experience'])
    stats = learner.update()
    step = selector.architecture.alpha.detach() - before
    hyper = searched['experience'].hypergradient[0]
    # Adam's first step: −lr · sign(g) where the hypergradient dominates weight decay
    big = hyper.abs() > 1e-3 * before.abs() + 1e-9
    assert torch.equal(torch.sign(step[big]), -torch.sign(hyper[big]))
    assert 'nas/val_loss' in stats and 'nas/p_use_P2' in stats
    selector.set_mode('derived')
    mask = selector(_context(distiller)).mask
    kept = selector.derived_levels()
    assert mask.tolist() == [[float(n in kept) for n in selector.level_names]] * 2
    selector.eval()
    assert torch.equal(selector(_context(distiller)).mask, mask)  # outside training too
    selector.train()
    selector.set_mode('search')


def _context(distiller):
    from rlpkd.models.selectors import SelectionContext
    feats = [torch.zeros(2, 1, 1, 1)] * 4
    return SelectionContext(feats, feats, distiller.level_names)


def test_gdas_samples_one_hard_subset_per_step(searched):
    """GDAS on the same distiller: the weight step distils the sampled levels only (a
    hard, batch-wide mask); the architecture step reaches every α entry through the
    straight-through relaxation."""
    distiller = searched['distiller']
    darts = distiller.selector
    gdas = GDASSelector(unrolled_lr=XI, distill_weight=WEIGHT, budget=0.5)
    gdas.bind(distiller.pair)
    gdas.set_search_state(0.5)
    distiller.selector = gdas
    try:
        torch.manual_seed(3)
        gdas.request_experience()
        losses = distiller(**searched['train'], mode='loss')
        weights = gdas.pending.weights
        assert set(weights.tolist()) <= {0.0, 1.0}
        for name, w in zip(gdas.level_names, weights):
            assert float(losses[f'select_{name}']) == float(w)
            assert (float(losses[f'distill_{name}']) > 0) == bool(w)  # unused: not computed
        assert gdas.pending.extras['tau'] == pytest.approx(5.05)
        gdas.record_validation(searched['val']['inputs'], searched['val']['data_samples'])
        hyper = gdas.collect_experience().hypergradient[0]
        assert (hyper != 0).all()
        torch.testing.assert_close(hyper[:, 0], -hyper[:, 1])  # two options per level
    finally:
        distiller.selector = darts
