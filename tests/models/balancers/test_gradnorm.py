"""GradNorm: the hand example, the paper's synthetic regression, and the distiller wiring."""
import datetime
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from rlpkd.models.balancers import GradNormBalancer, gradnorm_loss, gradnorm_step
from rlpkd.testing import TOY_STUDENT, build_distiller, det_batch

LEVELS = ('P2', 'P3', 'P4', 'P5')


@pytest.fixture
def one_thread():
    """Tiny MLPs: intra-op threads only add contention on a shared 2-core machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


# ---------------------------------------------------------------- hand example


def hand_example():
    """W = 1, L_i = c_i W² with c = [1, 4]: g = ∂L_i/∂W = 2 c_i W = [2, 8]."""
    shared = torch.tensor(1.0, requires_grad=True)
    losses = torch.tensor([1.0, 4.0]) * shared ** 2
    return shared, losses


def test_hand_example_loss_and_gradient():
    shared, losses = hand_example()
    grad_norms = torch.stack([torch.autograd.grad(loss, shared, retain_graph=True)[0].abs()
                              for loss in losses])
    torch.testing.assert_close(grad_norms, torch.tensor([2.0, 8.0]))
    weights = torch.ones(2, requires_grad=True)
    # first step: L(t) = L(0), so r = [1, 1] and both targets are Ḡ = 5
    l_grad = gradnorm_loss(weights, grad_norms, losses, losses, alpha=1.5)
    torch.testing.assert_close(l_grad, torch.tensor(6.0))        # |2 - 5| + |8 - 5|
    (grad,) = torch.autograd.grad(l_grad, weights)
    torch.testing.assert_close(grad, torch.tensor([-2.0, 8.0]))


def test_hand_example_step():
    _, losses = hand_example()
    new = gradnorm_step(torch.ones(2), torch.tensor([2.0, 8.0]), losses.detach(),
                        losses.detach(), alpha=1.5, lr=0.1)
    # SGD: [1.2, 0.2], renormalised to sum 2
    torch.testing.assert_close(new, torch.tensor([1.714286, 0.285714]))


def test_hand_example_through_the_module():
    """Same numbers via GradNormBalancer: autograd on W, L(0) recorded, state updated."""
    shared, losses = hand_example()
    balancer = GradNormBalancer(alpha=1.5, lr=0.1)
    balancer.bind(['a', 'b'])
    balancer.train()
    used = balancer(losses, torch.ones(2), shared)
    torch.testing.assert_close(used, torch.ones(2))               # this batch used w(t)
    torch.testing.assert_close(balancer.weights, torch.tensor([1.714286, 0.285714]))
    torch.testing.assert_close(balancer.initial_losses, torch.tensor([1.0, 4.0]))
    assert shared.grad is None                                    # nothing reached W
    balancer.eval()                                               # no step in eval mode
    balancer(losses, torch.ones(2), shared)
    torch.testing.assert_close(balancer.weights, torch.tensor([1.714286, 0.285714]))


def test_absent_task_keeps_weight_and_floor_keeps_positive():
    weights = torch.tensor([0.5, 0.5, 2.0])
    grad_norms = torch.tensor([1.0, 100.0, 7.0])                  # task 1 dominates
    losses = torch.ones(3)
    new = gradnorm_step(weights, grad_norms, losses, losses, lr=1.0,
                        active=torch.tensor([True, True, False]), min_weight=1e-3)
    assert new[2] == 2.0                                          # inactive: unchanged
    torch.testing.assert_close(new.sum(), torch.tensor(3.0))
    assert 0 < new[1] < 0.01                                      # clamped, then rescaled
    assert new[0] > 0.99                                          # the active mass, 1


# ---------------------------------------------------------------- synthetic regression


class MultiTaskNet(nn.Module):
    """The paper's §4 setup, smaller: shared ReLU trunk, one linear head per task."""

    def __init__(self, num_tasks: int, d_in: int = 32, d_out: int = 16, hidden: int = 64):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(),
                                   nn.Linear(hidden, hidden), nn.ReLU(),
                                   nn.Linear(hidden, hidden), nn.ReLU())
        self.heads = nn.ModuleList(nn.Linear(hidden, d_out) for _ in range(num_tasks))

    def forward(self, x):
        h = self.trunk(x)
        return [head(h) for head in self.heads]


def synthetic_problem(sigmas, seed=0, d_in=32, d_out=16):
    """f_i(x) = σ_i tanh((B + ε_i) x), B ~ N(0, 10), ε_i ~ N(0, 3.5) (scaled by 1/√d)."""
    gen = torch.Generator().manual_seed(seed)
    base = torch.randn(d_out, d_in, generator=gen) * (10 / d_in) ** 0.5
    eps = [torch.randn(d_out, d_in, generator=gen) * (3.5 / d_in) ** 0.5 for _ in sigmas]

    def losses(net, x):
        """One scalar per task, each its own graph (as the distiller passes them)."""
        return [((pred - s * torch.tanh(x @ (base + e).T)) ** 2).mean()
                for pred, s, e in zip(net(x), sigmas, eps)]
    return gen, losses


def test_synthetic_regression_weights_inverse_to_scale(one_thread):
    sigmas = [1.0, 4.0, 16.0]
    gen, task_losses = synthetic_problem(sigmas)
    torch.manual_seed(0)
    net = MultiTaskNet(len(sigmas))
    balancer = GradNormBalancer(alpha=1.5, lr=1e-2, shared_param='trunk')  # last Linear
    balancer.bind(['t0', 't1', 't2'], model=net)
    assert balancer.param_name == 'trunk.4.weight'
    shared = net.get_parameter(balancer.param_name)
    optim = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(300):
        losses = task_losses(net, torch.randn(64, 32, generator=gen))
        weights = balancer(losses, torch.ones(3), shared)
        optim.zero_grad()
        (weights * torch.stack(losses)).sum().backward()
        optim.step()
    w = balancer.weights
    assert w[0] > w[1] > w[2] > 0, w                              # inverse to σ
    torch.testing.assert_close(w.sum(), torch.tensor(3.0))
    assert w[0] / w[2] > 5, w
    # what GradNorm is for: the weighted gradient norms are closer than the raw ones
    losses = task_losses(net, torch.randn(256, 32, generator=gen))
    g = balancer.grad_norms(losses, torch.ones(3, dtype=torch.bool), shared)
    spread = lambda v: float(v.max() / v.min())  # noqa: E731
    assert spread(w * g) < spread(g) / 4, (w * g, g)


def test_balancer_step_gives_the_network_no_gradient(one_thread):
    gen, task_losses = synthetic_problem([1.0, 4.0, 16.0])
    net = MultiTaskNet(3)
    balancer = GradNormBalancer(shared_param='trunk.4.weight')
    balancer.bind(['t0', 't1', 't2'], model=net)
    for _ in range(2):
        balancer(task_losses(net, torch.randn(8, 32, generator=gen)), torch.ones(3),
                 net.trunk[4].weight)
    assert not torch.equal(balancer.weights, torch.ones(3))       # it did step
    assert all(p.grad is None for p in net.parameters())
    assert all(not b.requires_grad for b in balancer.buffers())
    assert list(balancer.parameters()) == []                      # nothing for the optimiser


# ---------------------------------------------------------------- distiller integration

GRADNORM = dict(type='GradNormBalancer', alpha=1.5, lr=1e-2)


def train_step(model, seed=0):
    """One forward + backward of the distiller; returns the losses dict."""
    losses = model(**det_batch(model, seed=seed), mode='loss')
    model.parse_losses(losses)[0].backward()
    return losses


def test_distiller_absent_levels_keep_weight():
    torch.manual_seed(0)
    model = build_distiller(balancer=GRADNORM,
                            selector=dict(type='FixedSelector', levels=['P3', 'P5']))
    assert model.balancer.param_name == 'student.backbone.layer1.1.conv2.weight'
    model.train()
    losses = model(**det_batch(model), mode='loss')
    assert all(p.grad is None for p in model.parameters())       # L_grad touched nothing
    weights = torch.stack([losses[f'gradnorm_w_{n}'] for n in LEVELS])
    assert not any('loss' in k for k in losses if k.startswith('gradnorm'))
    torch.testing.assert_close(weights, torch.ones(4))           # step 1 used w(0) = 1
    per_level = torch.stack([losses[f'distill_{n}'] for n in LEVELS])
    torch.testing.assert_close(losses['loss_distill'].detach(),
                               model.distill_weight * (weights * per_level).mean())
    total, log_vars = model.parse_losses(losses)
    assert 'gradnorm_w_P3' in log_vars
    total.backward()
    train_step(model, seed=1)
    w = model.balancer.weights
    assert w[0] == 1 and w[2] == 1                               # P2, P4: never selected
    assert abs(float(w[1]) - 1) > 1e-4 and abs(float(w[3]) - 1) > 1e-4
    torch.testing.assert_close(w.sum(), torch.tensor(4.0))
    assert model.balancer.initialized.tolist() == [False, True, False, True]


def test_resume_restores_state_exactly():
    torch.manual_seed(0)
    model = build_distiller(balancer=GRADNORM)
    model.train()
    train_step(model)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    assert {'balancer.weights', 'balancer.initial_losses', 'balancer.initialized'} <= set(state)
    assert not torch.equal(state['balancer.weights'], torch.ones(4))
    assert state['balancer.initialized'].all() and (state['balancer.initial_losses'] > 0).all()

    torch.manual_seed(1)
    fresh = build_distiller(balancer=GRADNORM)
    fresh.load_state_dict(state)
    fresh.train()
    for key in ('weights', 'initial_losses', 'initialized'):
        assert torch.equal(getattr(fresh.balancer, key), state[f'balancer.{key}'])
    # and the next step continues identically (L(0) not re-recorded)
    train_step(model, seed=1)
    train_step(fresh, seed=1)
    torch.testing.assert_close(fresh.balancer.weights, model.balancer.weights)
    assert torch.equal(fresh.balancer.initial_losses, state['balancer.initial_losses'])


@pytest.mark.bad_input
def test_bad_shared_param_name():
    with pytest.raises(KeyError, match=r'model.balancer.shared_param.*student.backbone.nope'):
        build_distiller(balancer=dict(GRADNORM, shared_param='student.backbone.nope'))


def test_frozen_shared_param():
    frozen = dict(cfg_path=TOY_STUDENT, override=dict(backbone=dict(frozen_stages=1)))
    with pytest.raises(ValueError, match=r'model.balancer.shared_param.*frozen_stages'):
        build_distiller(student=frozen, balancer=GRADNORM)


def test_shared_param_not_shared_by_all_levels():
    """lateral_convs.0 feeds only P2: the first step names the levels it misses."""
    model = build_distiller(balancer=dict(GRADNORM, shared_param='student.neck.lateral_convs.0'))
    assert model.balancer.param_name == 'student.neck.lateral_convs.0.conv.weight'
    model.train()
    with pytest.raises(ValueError, match=r"model.balancer.shared_param.*\['P3', 'P4', 'P5'\]"):
        model(**det_batch(model), mode='loss')


# ---------------------------------------------------------------- distributed (gloo, 2 ranks)


class BalancedNet(nn.Module):
    """A model that calls the balancer in its forward, as the distiller does."""

    def __init__(self):
        super().__init__()
        self.net = MultiTaskNet(3)
        self.balancer = GradNormBalancer(lr=1e-2, shared_param='net.trunk')
        self.balancer.bind(['t0', 't1', 't2'], model=self)

    def forward(self, x, task_losses):
        losses = task_losses(self.net, x)
        weights = self.balancer(losses, torch.ones(3), self.get_parameter('net.trunk.4.weight'))
        return (weights * torch.stack(losses)).sum()


def _ddp_worker(rank: int, world_size: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world_size, timeout=datetime.timedelta(seconds=30))
    torch.set_num_threads(1)
    gen, task_losses = synthetic_problem([1.0, 4.0, 16.0])
    gen.manual_seed(100 + rank)                                   # different data per rank
    torch.manual_seed(0)
    net = MultiTaskNet(3)
    balancer = GradNormBalancer(lr=1e-2, shared_param='trunk')
    balancer.bind(['t0', 't1', 't2'], model=net)
    # step 0: task 2 only on rank 0, task 0 only on rank 1; step 1: rank 1 has no task
    # at all (no loss needs grad there: it must still join the all-reduce); then all
    coverage = [[torch.tensor([1.0, 1.0, 0.0]), torch.ones(3)],
                [torch.tensor([0.0, 1.0, 1.0]), torch.zeros(3)]][rank]
    local_norms = []
    for step in range(4):
        losses = task_losses(net, torch.randn(16, 32, generator=gen))
        local_norms.append(balancer.grad_norms(losses, torch.ones(3, dtype=torch.bool),
                                               net.trunk[4].weight))
        if rank == 1 and step == 1:
            losses = [torch.zeros(()) for _ in losses]
        balancer(losses, coverage[step] if step < 2 else torch.ones(3), net.trunk[4].weight)
    # inside DDP's forward, as in the runner (the distiller config's wrapper settings)
    torch.manual_seed(0)
    model = nn.parallel.DistributedDataParallel(BalancedNet(), find_unused_parameters=True)
    optim = torch.optim.SGD(model.parameters(), lr=1e-2)
    for _ in range(3):
        optim.zero_grad()
        model(torch.randn(16, 32, generator=gen), task_losses).backward()
        optim.step()
    torch.save(dict(weights=balancer.weights, initial=balancer.initial_losses,
                    initialized=balancer.initialized, norms=torch.stack(local_norms),
                    ddp_state=model.module.state_dict()),
               os.path.join(out_dir, f'{rank}.pt'))
    dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_available(), reason='torch.distributed unavailable')
def test_distributed_ranks_stay_identical(tmp_path):
    mp.spawn(_ddp_worker, args=(2, str(tmp_path / 'init'), str(tmp_path)), nprocs=2)
    r0, r1 = (torch.load(tmp_path / f'{r}.pt') for r in range(2))
    assert not torch.allclose(r0['norms'], r1['norms'])          # the ranks saw other data
    assert torch.equal(r0['weights'], r1['weights'])
    assert torch.equal(r0['initial'], r1['initial'])
    assert r0['initialized'].all() and r1['initialized'].all()
    assert not torch.equal(r0['weights'], torch.ones(3))
    torch.testing.assert_close(r0['weights'].sum(), torch.tensor(3.0))
    state0, state1 = r0['ddp_state'], r1['ddp_state']
    assert all(torch.equal(state0[k], state1[k]) for k in state0)  # params and w
    assert not torch.equal(state0['balancer.weights'], torch.ones(3))
