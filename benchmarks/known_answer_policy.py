"""Can PPO learn the known answer from the real states, and from how many episodes?

The known-answer RL runs (``known_answer.py``) keep every level. Two things could be to
blame: the reward (``reward_signal.py``: no per-image signal ranks the known answer
first more often than chance) or the learning problem itself (are the size groups
visible in the 1542-entry state, and are the ~200 episodes a toy run gives PPO
enough?). This separates them: it takes the states of the train and val images from a
finished known-answer run (its final student, :class:`ParallelDistillationEnv`'s
state builder: what :class:`RLSelector` sees), and trains the configured policy
(LSTM, ``init_keep_prob`` 0.75) with the configured PPO (16 episodes per update: 4
scored samples × ``update_interval`` 4) on a *known* reward per episode:

    reward(a) = (1/L) Σ_l [a_l = k_l]  +  σ · ε,   ε ~ N(0, 1)

``k``: the image's known answer (``rlpkd.benchmarking.parts.KNOWN_ANSWER``); ``σ``: noise that
stands for a per-image reward signal of limited reliability. Reports the fraction of
val images whose greedy decision is the known answer, per episode count and σ
(mean ± std over seeds). Simplification: the states come from the final student, not
from a student that changes while the policy learns. Writes
``benchmarks/results/known_answer_policy.{md,json}``; toy-scale CPU. ``--rows`` runs some of
the PPO rows only.

    .venv/bin/python benchmarks/known_answer_policy.py \
        --run work_dirs/known_answer_v3/flip/uniform_KD/seed_0
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.runner import Runner

from rlpkd.benchmarking.parts import KNOWN_ANSWER, group_of
from rlpkd.benchmarking.studies import load_finished_run
from rlpkd.compat import RolloutBuffer
from rlpkd.rl import PolicyNetwork, PPOTrainer
from rlpkd.rl.environment import ParallelDistillationEnv
from rlpkd.rl.state import StateLayout

ROOT = Path(__file__).resolve().parents[1]

#: PPO rows: episodes per update (16 is the config's: 4 scored samples × update_interval
#: 4), episodes (≈ 192 is what a toy run gives), σ, the policy's exploration bound and
#: whether the states are standardised (per entry, train-set mean / std: a probe of
#: what observation normalisation, as in SB3's VecNormalize, would change)
ROWS = tuple(dict(zip(('per_update', 'episodes', 'sigma', 'explore', 'standardise'), r))
             for r in ((16, 192, 0.0, 0.0, False), (16, 1920, 0.0, 0.0, False),
                       (128, 1920, 0.0, 0.0, False), (128, 7680, 0.0, 0.0, False),
                       (128, 30720, 0.0, 0.0, False), (128, 30720, 0.5, 0.0, False),
                       (128, 7680, 0.0, 0.0, True), (128, 7680, 0.0, 0.1, False),
                       (16, 1920, 0.0, 0.1, True), (128, 7680, 0.0, 0.1, True),
                       (128, 7680, 0.5, 0.1, True)))


@torch.no_grad()
def states_of(model, env: ParallelDistillationEnv, loader) -> tuple:
    """``(states [N, S], known answers [N, L], groups)`` of every image of ``loader``."""
    states, answers, groups = [], [], []
    for batch in loader:
        data = model.data_preprocessor(batch, False)
        inputs, samples = data['inputs'], data['data_samples']
        teacher = model.teacher_pyramid(inputs, samples)
        with model.pair.student_tap.record() as student, env.observe() as observed:
            model.student.loss(inputs, samples)
        states.append(env.states(observed, student, teacher)[0])
        groups += [group_of(model.groups, s) for s in samples]
    answers = torch.tensor([KNOWN_ANSWER[g] for g in groups], dtype=torch.float32)
    return torch.cat(states), answers, groups


def configured_policy(state_dim: int, explore: float = 0.0) -> PolicyNetwork:
    """The policy of ``configs/_base_/distillers/rlpkd.py`` (LSTM, 256, keep 0.75)."""
    return PolicyNetwork(state_dim=state_dim, hidden_dim=256, num_layers=4, use_lstm=True,
                         init_keep_prob=0.75, explore=explore)


def train(train_set: tuple, seed: int, per_update: int, episodes: int, sigma: float,
          explore: float) -> PolicyNetwork:
    """PPO with the config's settings on the known-answer reward (module docstring)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    states, answers, _ = train_set
    policy = configured_policy(states.shape[1], explore)
    trainer = PPOTrainer(policy, lr=3e-4, clip_epsilon=0.2, value_coef=0.5,
                         entropy_coef=0.01, max_grad_norm=0.5, ppo_epochs=4,
                         num_minibatches=4, seed=seed)
    per_batch, batches = per_update // 4, 4
    buffer = RolloutBuffer(batches, per_batch, states.shape[1], 4)
    for _ in range(max(1, episodes // (per_batch * batches))):
        for _ in range(batches):
            index = torch.randint(len(states), (per_batch,), generator=gen)
            with torch.no_grad():
                action, log_prob, value = policy.select_action(states[index])
            reward = (action == answers[index]).float().mean(dim=1)
            reward = reward + sigma * torch.randn(per_batch, generator=gen)
            buffer.add(states[index], action, reward, value, log_prob,
                       torch.ones(per_batch))
        trainer.train_step(buffer.as_rollout())
        buffer.reset()
    return policy


def supervised(train_set: tuple, seed: int, steps: int = 300) -> PolicyNetwork:
    """The same network fitted to the known answers by maximum likelihood (Adam, lr
    3e-4): the most these states and train images allow, a reference for PPO."""
    torch.manual_seed(seed)
    states, answers, _ = train_set
    policy = configured_policy(states.shape[1])
    optimizer = torch.optim.Adam(policy.parameters(), lr=3e-4)
    for _ in range(steps):
        loss = -policy.evaluate_actions(states, answers)[0].mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return policy


def standardised(train_set: tuple, val_set: tuple) -> tuple:
    """Both sets with every state entry but the budget standardised by train statistics."""
    states = train_set[0]
    mean, std = states.mean(dim=0), states.std(dim=0).clamp(min=1e-6)
    budget = StateLayout.pyramid(4)['budget']
    mean[budget], std[budget] = 0.0, 1.0
    return tuple(((s[0] - mean) / std, *s[1:]) for s in (train_set, val_set))


def match(policy: PolicyNetwork, val_set: tuple) -> dict:
    """Fraction of val images whose greedy decision is the known answer, overall and
    per group, and the mean keep probability of P5 on large / P2 on small images."""
    states, answers, groups = val_set
    with torch.no_grad():
        action = policy.select_action(states, deterministic=True)[0]
        keep = policy(states)[0]                                  # [N, L] greedy path
    hits = (action == answers).all(dim=1).float()
    out = {'all': float(hits.mean())}
    for group in sorted(set(groups)):
        out[group] = float(hits[[g == group for g in groups]].mean())
    # the keep probabilities of the two decisions the known answer turns off
    out['keep_P5_large'] = float(keep[[g == 'large' for g in groups], 3].mean())
    out['keep_P2_small'] = float(keep[[g == 'small' for g in groups], 0].mean())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--run', default='work_dirs/known_answer_v3/flip/uniform_KD/seed_0')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--out', default=str(ROOT / 'benchmarks' / 'results' /
                                             'known_answer_policy'))
    parser.add_argument('--rows', type=int, nargs='+', metavar='INDEX',
                        help='the PPO rows to run, by index into ROWS (default: all)')
    args = parser.parse_args()
    run = Path(args.run)
    model, val_loader = load_finished_run(run)
    cfg = Config.fromfile(run / 'test' / 'config.py')
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.pop('persistent_workers', None)
    cfg.train_dataloader.dataset.pipeline = cfg.val_dataloader.dataset.pipeline
    env = ParallelDistillationEnv(model, lambda_tradeoff=0.0)
    train_set = states_of(model, env, Runner.build_dataloader(cfg.train_dataloader, seed=0))
    val_set = states_of(model, env, val_loader)
    rows = [dict(per_update='supervised', episodes='–', sigma='–', explore='–',
                 standardise=False,
                 runs=[match(supervised(train_set, s), val_set) for s in args.seeds])]
    for row in ROWS if args.rows is None else [ROWS[i] for i in args.rows]:
        train_on, val_on = standardised(train_set, val_set) if row['standardise'] else \
            (train_set, val_set)
        settings = {k: v for k, v in row.items() if k != 'standardise'}
        runs = [match(train(train_on, s, **settings), val_on) for s in args.seeds]
        rows.append(dict(row, runs=runs))
        print(rows[-1], flush=True)
    recorded = {k: v for k, v in vars(args).items()  # as before --rows, by default
                if v is not None or k != 'rows'}
    Path(args.out + '.json').write_text(json.dumps(dict(args=recorded, rows=rows), indent=1))
    Path(args.out + '.md').write_text(markdown(rows, args))
    print(markdown(rows, args))


def markdown(rows: list, args) -> str:
    def cell(runs, key):
        values = [r[key] for r in runs]
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        return f'{statistics.mean(values):.2f} ± {std:.2f}'
    lines = ['Can PPO learn the known answer from the real states? (toy-scale CPU) States of '
             f'the train / val images from the final student of `{args.run}`; the config\'s '
             'policy and PPO, reward = fraction of levels that '
             'match the known answer + σ·N(0, 1). Greedy decisions on the val images, '
             f'PPO / initialisation seeds {args.seeds} on one set of states. '
             f'`benchmarks/known_answer_policy.py --run {args.run} --seeds '
             f'{" ".join(map(str, args.seeds))}'
             f'{" --rows " + " ".join(map(str, args.rows)) if args.rows else ""}`. '
             'The untrained policy keeps every level '
             '(init_keep_prob 0.75): 0.33 is where it starts. A toy run gives the policy '
             '≈ 190 scored episodes with collect_samples=4 (3 policy epochs × 15 batches '
             '× 4 samples, + the joint phase\'s every 10th batch; ≈ 380 when all 8 samples '
             'of a batch are scored). "keep P5 | large", "keep P2 | small": mean keep '
             'probability of the two decisions the known answer turns off (0.75 at the '
             'start). The supervised row fits the same network to the answers (Adam, 300 '
             'full-batch steps): what these states give a supervised learner.', '',
             '| episodes per update | episodes | σ | exploration bound | states '
             '| matches known answer | large | small | mixed | keep P5 \\| large '
             '| keep P2 \\| small |', '|---' * 11 + '|']
    for row in rows:
        states = 'standardised' if row['standardise'] else 'as the policy sees them'
        lines.append(f"| {row['per_update']} | {row['episodes']} | {row['sigma']} | "
                     f"{row['explore']} | {states} | " + ' | '.join(
            cell(row['runs'], k) for k in ('all', 'large', 'small', 'mixed',
                                           'keep_P5_large', 'keep_P2_small')) + ' |')
    return '\n'.join(lines) + '\n'


if __name__ == '__main__':
    main()
