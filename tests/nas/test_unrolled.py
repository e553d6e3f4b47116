"""The unrolled hypergradient on a small quadratic bilevel problem (float64).

L_train(w, α) = B(w) + Σ_l r_l(α) · ½‖A_l w − b_l‖²,   r = softmax(α)[:, use]
L_val(w)      = ½‖C w − d‖²                          (independent of α)
"""
import pytest
import torch

from rlpkd.nas import finite_difference_hypergradient, unrolled_hypergradient, use_probability
from rlpkd.pyramid.functional import virtual_step

L, D = 4, 5


@pytest.fixture
def problem():
    gen = torch.Generator().manual_seed(0)
    randn = lambda *s: torch.randn(*s, generator=gen, dtype=torch.float64)  # noqa: E731
    A, b, C, d, E, e = randn(L, D, D), randn(L, D), randn(3, D), randn(3), randn(D, D), randn(D)
    w, alpha = randn(D), randn(L, 2)

    def level_losses(w):                          # [L]
        return 0.5 * (torch.einsum('lij,j->li', A, w) - b).pow(2).sum(dim=1)

    def arch_loss(params, a):
        return (use_probability(a) * level_losses(params['w'])).sum()

    def base_loss(w):                              # the α-independent part of L_train
        return 0.5 * (E @ w - e).pow(2).sum()

    def val_loss(params):
        return 0.5 * (C @ params['w'] - d).pow(2).sum()

    return dict(w=w, alpha=alpha, arch_loss=arch_loss, base_loss=base_loss,
                val_loss=val_loss, level_losses=level_losses)


def reference(p, lr, with_base):
    """Plain autograd through the virtual step: w' = w − ξ ∇_w L_train(w, α) with a
    graph to α, then ∂ L_val(w') / ∂α."""
    alpha = p['alpha'].clone().requires_grad_(True)
    w = p['w'].clone().requires_grad_(True)
    train = p['arch_loss'](dict(w=w), alpha) + (p['base_loss'](w) if with_base else 0)
    (g,) = torch.autograd.grad(train, w, create_graph=True)
    stepped = w - lr * g
    return torch.autograd.grad(p['val_loss'](dict(w=stepped)), alpha)[0]


@pytest.mark.parametrize('with_base', [False, True])
def test_exact_hypergradient_equals_autograd_through_the_virtual_step(problem, with_base):
    p, lr = problem, 0.05
    base = None
    if with_base:
        w = p['w'].clone().requires_grad_(True)
        base = dict(w=torch.autograd.grad(p['base_loss'](w), w)[0])
    hyper, info = unrolled_hypergradient(p['arch_loss'], p['val_loss'], dict(w=p['w']),
                                         p['alpha'], lr, base)
    expected = reference(p, lr, with_base)
    assert expected.abs().max() > 1e-3  # a real signal, not two zeros
    torch.testing.assert_close(hyper, expected, rtol=1e-10, atol=1e-12)
    # the validation loss is taken at the stepped point w' (not at w)
    w = p['w'].clone().requires_grad_(True)
    train = p['arch_loss'](dict(w=w), p['alpha']) + (p['base_loss'](w) if with_base else 0)
    stepped = virtual_step(dict(w=p['w']), dict(w=torch.autograd.grad(train, w)[0]), lr)
    torch.testing.assert_close(info['val_loss'], p['val_loss'](stepped))


def test_first_order_gradient_is_zero(problem):
    """α weights training losses only: L_val(w) has no path to α at the current w, so the
    first-order DARTS gradient ∇_α L_val(w) is exactly zero (None from autograd)."""
    p = problem
    alpha = p['alpha'].clone().requires_grad_(True)
    w = p['w'].clone().requires_grad_(True)
    val = p['val_loss'](dict(w=w)) + 0 * p['arch_loss'](dict(w=w.detach()), alpha).detach()
    assert torch.autograd.grad(val, alpha, allow_unused=True)[0] is None
    hyper, _ = unrolled_hypergradient(p['arch_loss'], p['val_loss'], dict(w=p['w']),
                                      p['alpha'], lr=0.05)
    assert hyper.abs().max() > 1e-3  # the unrolled one carries the signal


def test_finite_difference_agrees_to_second_order(problem):
    """DARTS eq. 8: central differences, error O(ε²): halving ε quarters the error.
    (The level losses are quadratic, so their gradient is linear in w and the central
    difference would be exact; a quartic term makes the error visible.)"""
    p = problem

    def arch_loss(params, a):
        losses = p['level_losses'](params['w'])
        return (use_probability(a) * (losses + 0.1 * losses.pow(2))).sum()

    exact, _ = unrolled_hypergradient(arch_loss, p['val_loss'], dict(w=p['w']),
                                      p['alpha'], 0.01)
    errors = []
    for eps in (0.4, 0.2, 0.1):
        approx, _ = finite_difference_hypergradient(arch_loss, p['val_loss'], dict(w=p['w']),
                                                    p['alpha'], 0.01, epsilon=eps)
        errors.append(float((approx - exact).abs().max()))
    assert errors[0] > 1e-9
    for coarse, fine in zip(errors, errors[1:]):
        assert 3.5 < coarse / fine < 4.5
    approx, _ = finite_difference_hypergradient(arch_loss, p['val_loss'], dict(w=p['w']),
                                                p['alpha'], 0.01)  # DARTS's 0.01 / ‖v‖
    torch.testing.assert_close(approx, exact, rtol=1e-4, atol=1e-8)
