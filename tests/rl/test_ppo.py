"""PPO: loss functions on hand examples, and PPOTrainer behaviour on a tiny Bernoulli policy."""
import copy
import io
import math
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import Tensor, nn
from torch.distributions import Bernoulli

from rlpkd.compat import RolloutBuffer
from rlpkd.rl.ppo import PPOTrainer, approx_kl, clip_fraction, ppo_policy_loss, value_loss

S, L = 4, 3


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny MLPs: intra-op threads only add contention on a shared 2-core machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


class BernoulliPolicy(nn.Module):
    """Tiny actor-critic: independent Bernoulli per level, shared tanh trunk."""

    def __init__(self, state_dim: int = S, num_levels: int = L, hidden: int = 16) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(state_dim, hidden), nn.Tanh())
        self.logits = nn.Linear(hidden, num_levels)
        self.critic = nn.Linear(hidden, 1)

    def forward(self, states: Tensor) -> tuple[Bernoulli, Tensor]:
        h = self.body(states)
        return Bernoulli(logits=self.logits(h)), self.critic(h).squeeze(-1)

    def evaluate_actions(self, states: Tensor, actions: Tensor):
        dist_, value = self(states)
        return dist_.log_prob(actions).sum(-1), dist_.entropy().sum(-1), value

    @torch.no_grad()
    def act(self, states: Tensor, generator: torch.Generator):
        dist_, value = self(states)
        actions = torch.bernoulli(dist_.probs, generator=generator)
        return actions, dist_.log_prob(actions).sum(-1), value


class RecordingTrainer(PPOTrainer):
    """Keeps every minibatch's stats (test-side use of the ``on_minibatch`` hook)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.records: list[tuple[int, int, dict]] = []

    def on_minibatch(self, epoch, index, stats):
        self.records.append((epoch, index, stats))


def all_ones_reward(actions: Tensor) -> Tensor:
    """Bandit: reward 1 iff every level is selected."""
    return (actions.sum(-1) == actions.shape[-1]).float()


def collect(policy: BernoulliPolicy, seed: int, num_steps: int = 8, num_envs: int = 16) -> dict:
    """A bandit rollout (every step is its own episode) through the RolloutBuffer."""
    gen = torch.Generator().manual_seed(seed)
    buf = RolloutBuffer(num_steps, num_envs, S, L)
    for _ in range(num_steps):
        states = torch.randn(num_envs, S, generator=gen)
        actions, log_prob, value = policy.act(states, gen)
        buf.add(states, actions, all_ones_reward(actions), value, log_prob,
                torch.ones(num_envs))
    return buf.as_rollout()


def make_policy(seed: int) -> BernoulliPolicy:
    torch.manual_seed(seed)
    return BernoulliPolicy()


def params(policy: nn.Module) -> list[Tensor]:
    return [p.detach().clone() for p in policy.parameters()]


def same(a: list[Tensor], b: list[Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b))


# ---------------------------------------------------------------- pure functions


def test_policy_loss_clip_fraction_and_kl_hand_example():
    ratio = torch.tensor([1.5, 0.5, 1.0, 1.1], dtype=torch.float64)
    advantages = torch.tensor([2.0, -1.0, 1.0, -2.0], dtype=torch.float64)
    assert float(ppo_policy_loss(ratio, advantages, 0.2)) == pytest.approx(-0.1, abs=1e-12)
    assert float(clip_fraction(ratio, 0.2)) == 0.5
    assert float(approx_kl(ratio.log())) == pytest.approx(0.0730930, abs=1e-6)


def test_value_loss_clipped_vs_unclipped():
    values = torch.tensor([2.0, 0.0, 1.2])
    returns = torch.tensor([0.0, 0.0, 3.0])
    old = torch.tensor([1.0, 1.0, 1.0])
    # unclipped: 0.5 * mean(4, 0, 3.24)
    assert float(value_loss(values, returns)) == pytest.approx(0.5 * (4 + 0 + 3.24) / 3)
    # clipped (c = 0.5): v_clip = [1.5, 0.5, 1.2] -> sq [2.25, 0.25, 3.24]
    # max with unclipped [4, 0, 3.24] -> [4, 0.25, 3.24]
    clipped = value_loss(values, returns, old_values=old, clip_range=0.5)
    assert float(clipped) == pytest.approx(0.5 * (4 + 0.25 + 3.24) / 3)
    with pytest.raises(ValueError):
        value_loss(values, returns, clip_range=0.5)


# ---------------------------------------------------------------- trainer


def test_first_minibatch_is_on_policy():
    policy = make_policy(0)
    trainer = RecordingTrainer(policy, lr=1e-2, seed=0)
    out = trainer.train_step(collect(policy, seed=1))
    epoch, index, first = trainer.records[0]
    assert (epoch, index) == (0, 0)
    torch.testing.assert_close(first['ratio'], torch.ones_like(first['ratio']),
                               rtol=0, atol=1e-6)
    assert float(first['clip_fraction']) == 0.0
    assert float(first['approx_kl']) == pytest.approx(0.0, abs=1e-10)
    assert out['num_updates'] == 4 * 4 == len(trainer.records)
    assert set(out) == {'policy_loss', 'value_loss', 'entropy', 'clip_fraction', 'approx_kl',
                        'explained_variance', 'num_updates'}
    assert all(isinstance(v, float) for v in out.values())
    # later minibatches are off-policy after the big steps
    assert max(float(r[2]['approx_kl']) for r in trainer.records) > 0


def test_ppo_learns_all_ones_bandit():
    policy = make_policy(0)
    trainer = PPOTrainer(policy, lr=1e-2, entropy_coef=0.0, seed=0)
    eval_states = torch.randn(256, S, generator=torch.Generator().manual_seed(123))

    def p_all_ones() -> float:
        with torch.no_grad():
            return float(policy(eval_states)[0].probs.prod(-1).mean())

    before = p_all_ones()
    rewards = []
    for it in range(25):
        rollout = collect(policy, seed=1000 + it)
        rewards.append(float(rollout['rewards'].mean()))
        trainer.train_step(rollout)
    assert before < 0.25
    assert p_all_ones() > 0.8
    assert sum(rewards[-5:]) / 5 > sum(rewards[:5]) / 5 + 0.3


def test_target_kl_stops_the_whole_update():
    policy = make_policy(0)
    trainer = RecordingTrainer(policy, lr=5e-2, target_kl=1e-3, seed=0)
    out = trainer.train_step(collect(policy, seed=1))
    kls = [float(r[2]['approx_kl']) for r in trainer.records]
    assert out['num_updates'] == len(kls) < 16
    assert kls[-1] > 1e-3 and all(k <= 1e-3 for k in kls[:-1])


def test_train_step_deterministic_given_seed():
    rollout = collect(make_policy(0), seed=1)
    results = []
    for seed in (7, 7, 8):
        policy = make_policy(0)
        PPOTrainer(policy, lr=1e-2, seed=seed).train_step(rollout)
        results.append(params(policy))
    assert same(results[0], results[1])
    assert not same(results[0], results[2])          # the shuffle seed matters


def test_state_dict_round_trip_resumes_exactly():
    r1, r2 = collect(make_policy(0), seed=1), collect(make_policy(0), seed=2)
    kwargs = dict(lr=1e-2, clip_value_loss=0.2)

    uninterrupted = make_policy(0)
    trainer = PPOTrainer(uninterrupted, seed=3, **kwargs)
    trainer.train_step(r1)
    trainer.train_step(r2)

    first = make_policy(0)
    trainer = PPOTrainer(first, seed=3, **kwargs)
    trainer.train_step(r1)
    blob = io.BytesIO()
    torch.save(dict(policy=first.state_dict(), trainer=trainer.state_dict()), blob)

    blob.seek(0)
    ckpt = torch.load(blob)
    resumed = make_policy(42)                         # different init, overwritten below
    resumed.load_state_dict(ckpt['policy'])
    trainer = PPOTrainer(resumed, seed=99, **kwargs)
    trainer.load_state_dict(ckpt['trainer'])
    trainer.train_step(r2)
    assert same(params(resumed), params(uninterrupted))

    # control: without the optimiser / generator state the result differs
    fresh = make_policy(42)
    fresh.load_state_dict(ckpt['policy'])
    PPOTrainer(fresh, seed=99, **kwargs).train_step(r2)
    assert not same(params(fresh), params(uninterrupted))


@pytest.mark.bad_input
def test_rejects_rollout_smaller_than_minibatch_count():
    policy = make_policy(0)
    rollout = collect(policy, seed=0, num_steps=1, num_envs=2)
    with pytest.raises(ValueError):
        PPOTrainer(policy, num_minibatches=4).train_step(rollout)


# ---------------------------------------------------------------- distributed (gloo, 2 ranks)


def _ddp_worker(rank: int, world_size: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world_size)
    torch.set_num_threads(1)
    policy = make_policy(0)
    rollout = collect(copy.deepcopy(policy), seed=100 + rank)      # different data per rank
    trainer = RecordingTrainer(policy, lr=5e-2, target_kl=5e-3, seed=rank)
    out = trainer.train_step(rollout)
    torch.save(dict(params=params(policy), out=out), os.path.join(out_dir, f'{rank}.pt'))
    dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_available(), reason='torch.distributed unavailable')
def test_distributed_ranks_stay_identical(tmp_path):
    mp.spawn(_ddp_worker, args=(2, str(tmp_path / 'init'), str(tmp_path)), nprocs=2)
    r0, r1 = (torch.load(tmp_path / f'{r}.pt') for r in range(2))
    assert same(r0['params'], r1['params'])
    assert r0['out']['num_updates'] == r1['out']['num_updates']
    assert not math.isnan(r0['out']['policy_loss'])
