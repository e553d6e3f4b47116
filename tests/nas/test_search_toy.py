"""A 4-level toy where only levels {0, 2} help the validation loss: DARTS-LS and GDAS-LS
(the real selectors' weights, the unrolled hypergradient, the architecture learner)
rank {0, 2} on top on every seed.

Student: a linear regressor ``w ∈ R^6`` trained on 8 noisy samples (task loss ``T``).
Teacher levels: ``t_l = w* + noise`` for l ∈ {0, 2} (help), ``t_l = −w* + noise`` for
l ∈ {1, 3} (hurt); level loss ``D_l(w) = ½‖w − t_l‖²``. Validation: 200 clean samples.
Each iteration: the weight step ``w ← w − η ∇(T + ¼ Σ_l r_l D_l)`` with the method's
weights ``r`` (DARTS: p(use); GDAS: a hard sample), then the architecture step with the
unrolled hypergradient of L_val on the same training batch, as the selectors do.
"""
import pytest
import torch

from rlpkd.learners import ArchitectureExperience, ArchitectureLearner
from rlpkd.models.selectors import DARTSSelector, GDASSelector
from rlpkd.nas import unrolled_hypergradient

NAMES = ('l0', 'l1', 'l2', 'l3')
STEPS, LR, DIM = 60, 0.05, 6


def make_problem(seed: int) -> dict:
    gen = torch.Generator().manual_seed(seed)
    w_star = torch.randn(DIM, generator=gen)
    signs = torch.tensor([1.0, -1.0, 1.0, -1.0])
    teachers = signs[:, None] * w_star + 0.3 * torch.randn(4, DIM, generator=gen)
    x_train, x_val = torch.randn(8, DIM, generator=gen), torch.randn(200, DIM, generator=gen)
    y_train = x_train @ w_star + 1.0 * torch.randn(8, generator=gen)
    return dict(teachers=teachers, x_train=x_train, y_train=y_train, x_val=x_val,
                y_val=x_val @ w_star, gen=gen)


def search(selector_cls, seed: int) -> tuple:
    """``(search result, Σ |hypergradient| [L, 2])`` of one search."""
    torch.manual_seed(seed)
    prob = make_problem(seed)
    selector = selector_cls.for_levels(NAMES, [0.25] * 4, budget=0.5)
    learner = ArchitectureLearner(selector, lr=0.01)  # a short search: a larger lr
    w, touched = torch.zeros(DIM), torch.zeros(4, 2)

    def task(params, idx):
        x, y = prob['x_train'][idx], prob['y_train'][idx]
        return 0.5 * (x @ params['w'] - y).pow(2).mean()

    def val_loss(params):
        return 0.5 * (prob['x_val'] @ params['w'] - prob['y_val']).pow(2).mean()

    for step in range(STEPS):
        selector.set_search_state(step / (STEPS - 1))
        idx = torch.randint(0, 8, (4,), generator=prob['gen'])
        weights, extras = selector.search_weights()

        def arch_loss(params, alpha):
            gaps = 0.5 * (params['w'] - prob['teachers']).pow(2).sum(dim=1)      # [L]
            return (selector.relaxed_weights(alpha, extras) * gaps).sum() / 4

        w_leaf = w.clone().requires_grad_(True)
        loss = task(dict(w=w_leaf), idx) + arch_loss(dict(w=w_leaf), selector.architecture.alpha)
        (grad,) = torch.autograd.grad(loss, w_leaf)
        w = w - LR * grad                                                        # weight step
        base_leaf = w.clone().requires_grad_(True)
        base = dict(w=torch.autograd.grad(task(dict(w=base_leaf), idx), base_leaf)[0])
        hyper, info = unrolled_hypergradient(arch_loss, val_loss, dict(w=w),
                                             selector.architecture.alpha, LR, base)
        touched += hyper.abs()
        learner.add(ArchitectureExperience(hyper[None], info['val_loss'].reshape(1),
                                           weights[None]))
        learner.update()                                                   # architecture step
    return selector.search_result(), touched


@pytest.mark.parametrize('selector_cls', [DARTSSelector, GDASSelector])
def test_search_ranks_the_helpful_levels_top_on_every_seed(selector_cls):
    for seed in range(3):
        result, touched = search(selector_cls, seed)
        p_use = result['p_use']
        assert sorted(result['levels']) == ['l0', 'l2'], p_use
        assert min(p_use['l0'], p_use['l2']) > max(p_use['l1'], p_use['l3'])
        assert max(p_use['l1'], p_use['l3']) < 0.5  # the harmful levels were pushed down
        assert (touched > 0).all()  # every α entry received gradient (GDAS: through ST)
