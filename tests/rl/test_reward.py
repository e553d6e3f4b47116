"""LookaheadReward on a partly trained student: the capped step does not overshoot."""
import math

import pytest
import torch

from rlpkd.testing import build_from_config, cls_batch

CONFIG = 'rlpkd::resnet/rlpkd_resnet18w32-resnet18w16_toy-folder.py'


@pytest.fixture(scope='module')
def trained():
    """The toy ResNet distiller after 30 uniform-KD SGD steps on one batch, and the
    selector's record of a sampled selection on that batch."""
    torch.manual_seed(0)
    distiller = build_from_config(CONFIG)
    distiller.train()
    selector = distiller.selector
    selector.set_mode('uniform')
    batch = cls_batch(distiller, num_images=8, size=(64, 64))
    params = [p for p in distiller.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=0.02, momentum=0.9)
    for _ in range(30):
        losses = distiller(**batch, mode='loss')
        optimizer.zero_grad()
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        optimizer.step()
    selector.set_mode('sample')
    selector.request_experience()
    distiller(**batch, mode='loss')
    return distiller, selector.pending


def test_fixed_step_overshoots_capped_step_does_not(trained):
    distiller, pending = trained
    reward = distiller.selector.env.reward
    args, teacher = pending['observation'].inputs, pending['observation'].teacher_feats
    ones = torch.ones(8, 4)
    reward.lookahead_max_drop = math.inf  # the plain fixed step of size lookahead_lr
    try:
        uncapped, _ = reward.lookahead_drops(args, teacher, ones)
    finally:
        reward.lookahead_max_drop = 0.1
    assert (uncapped <= 0).any()  # the gap rose: a fixed step is too long here
    capped, _ = reward.lookahead_drops(args, teacher, ones)
    assert (capped > 0).all()


def test_rewards_stay_bounded(trained):
    distiller, pending = trained
    experience = distiller.selector.collect_experience()
    assert experience is not None
    assert ((experience.improvement >= -1) & (experience.improvement <= 2)).all()
    assert experience.rewards.abs().max() < 10
    distiller.selector.pending = pending  # the fixture is shared: leave it as it was


def test_activation_checkpointing_student_scores_like_a_plain_one():
    """with_cp blocks cannot run under torch.func: the lookahead runs them plainly."""
    from mmengine.config import Config

    from rlpkd.models.utils import config_file
    student = Config.fromfile(config_file(CONFIG)).model.student
    rewards = []
    for with_cp in (False, True):
        torch.manual_seed(0)
        distiller = build_from_config(
            CONFIG, student=dict(student, override=dict(backbone=dict(with_cp=with_cp))))
        distiller.train()
        distiller.selector.request_experience()
        distiller(**cls_batch(distiller, num_images=2), mode='loss')
        rewards.append(distiller.selector.collect_experience().rewards)
        assert all(m.with_cp == with_cp for m in distiller.student.backbone.modules()
                   if hasattr(m, 'with_cp'))  # restored after the lookahead
    torch.testing.assert_close(rewards[0], rewards[1])




def test_task_signal_is_the_drop_of_the_images_task_loss():
    """The task-signal lookahead equals a plain re-computation: autograd for the step,
    a copy of the student with the stepped neck, its task loss (eval mode, seed 0)."""
    import copy

    from rlpkd.pyramid.functional import total_loss
    from rlpkd.rl.environment import ParallelDistillationEnv
    from rlpkd.testing import build_distiller, det_batch
    from rlpkd.utils import eval_mode

    torch.manual_seed(0)
    distiller = build_distiller()
    env = ParallelDistillationEnv(distiller, lambda_tradeoff=0.0, reward_signal='task')
    batch = det_batch(distiller, num_images=1)
    env.reset(batch['inputs'], data_samples=batch['data_samples'])
    observation = env._episode['observation']
    mask = torch.tensor([0, 1, 1, 0.])
    drops = env.reward.lookahead_drops_many(observation.inputs, observation.teacher_feats,
                                            mask.view(1, 1, 4), observation.task)[0]

    pair, neck = distiller.pair, distiller.student.neck
    with eval_mode(distiller):
        outs = neck(*observation.inputs)
        gaps = torch.stack([pair.level_pair_loss(n, o, t)[0] for n, o, t in
                            zip(pair.level_names, outs, observation.teacher_feats)])
        params = list(neck.parameters())
        full = torch.autograd.grad(gaps.sum(), params, retain_graph=True)
        selected = torch.autograd.grad((gaps * mask).sum(), params)
    lr = min(0.01, 0.1 * float(gaps.detach().sum()) / float(sum(g.pow(2).sum() for g in full)))

    def task_loss(step=None):
        student = copy.deepcopy(distiller.student)
        if step is not None:
            with torch.no_grad():
                for p, g in zip(student.neck.parameters(), step):
                    p.sub_(lr * g)
        with torch.no_grad(), eval_mode(student), torch.random.fork_rng():
            torch.manual_seed(0)
            return float(total_loss(student.loss(batch['inputs'], batch['data_samples'])))

    before = task_loss()
    expected = torch.tensor([before - task_loss(full), before - task_loss(selected)])
    torch.testing.assert_close(drops, expected, rtol=1e-3, atol=1e-5)
    assert (drops != 0).all()


def test_alignment_signal_is_the_task_gradient_dot_the_distillation_gradient():
    """Plain autograd on the neck: ∇T · ∇(Σ_sel level losses) for the full and a
    selected mask, T the image's task loss (eval mode, seed 0)."""
    from rlpkd.pyramid.functional import total_loss
    from rlpkd.rl.environment import ParallelDistillationEnv
    from rlpkd.testing import build_distiller, det_batch
    from rlpkd.utils import eval_mode

    torch.manual_seed(0)
    distiller = build_distiller()
    env = ParallelDistillationEnv(distiller, lambda_tradeoff=0.0, reward_signal='alignment')
    batch = det_batch(distiller, num_images=1)
    env.reset(batch['inputs'], data_samples=batch['data_samples'])
    observation = env._episode['observation']
    mask = torch.tensor([1, 0, 1, 0.])
    drops = env.reward.lookahead_drops_many(observation.inputs, observation.teacher_feats,
                                            mask.view(1, 1, 4), observation.task)[0]
    pair, neck = distiller.pair, distiller.student.neck
    params = list(neck.parameters())
    with eval_mode(distiller), torch.random.fork_rng():
        outs = neck(*observation.inputs)
        gaps = torch.stack([pair.level_pair_loss(n, o, t)[0] for n, o, t in
                            zip(pair.level_names, outs, observation.teacher_feats)])
        full = torch.autograd.grad(gaps.sum(), params, retain_graph=True)
        selected = torch.autograd.grad((gaps * mask).sum(), params)
        torch.manual_seed(0)
        task = torch.autograd.grad(total_loss(distiller.student.loss(
            batch['inputs'], batch['data_samples'])), params)
    expected = torch.stack([sum((t * g).sum() for t, g in zip(task, step))
                            for step in (full, selected)])
    torch.testing.assert_close(drops, expected, rtol=1e-4, atol=1e-6)


def test_batch_alignment_is_the_batch_task_gradient_dot_each_images_step():
    """Two images: image i's drops are ∇T_batch · ∇(Σ_sel level losses of image i), with
    T_batch the task loss of both images (eval mode, seed 0), the same for both."""
    from rlpkd.pyramid.functional import total_loss
    from rlpkd.rl.environment import ParallelDistillationEnv
    from rlpkd.rl.reward import tree_slice
    from rlpkd.testing import build_distiller, det_batch
    from rlpkd.utils import eval_mode

    torch.manual_seed(0)
    distiller = build_distiller()
    env = ParallelDistillationEnv(distiller, lambda_tradeoff=0.0,
                                  reward_signal='batch_alignment')
    batch = det_batch(distiller, num_images=2)
    env.reset(batch['inputs'], data_samples=batch['data_samples'])
    observation = env._episode['observation']
    masks = torch.tensor([[1, 0, 1, 0.], [0, 1, 1, 1.]])
    drops = env.reward.lookahead_drops_many(observation.inputs, observation.teacher_feats,
                                            masks[:, None], observation.task)
    pair, neck = distiller.pair, distiller.student.neck
    params = list(neck.parameters())
    with eval_mode(distiller), torch.random.fork_rng():
        torch.manual_seed(0)
        task = torch.autograd.grad(total_loss(distiller.student.loss(
            batch['inputs'], batch['data_samples'])), params)
        expected = []
        for i in range(2):
            outs = neck(*tree_slice(observation.inputs, i, i + 1))
            gaps = torch.stack([pair.level_pair_loss(n, o, t[i:i + 1])[0] for n, o, t in
                                zip(pair.level_names, outs, observation.teacher_feats)])
            steps = [torch.autograd.grad((gaps * m).sum(), params, retain_graph=True)
                     for m in (torch.ones(4), masks[i])]
            expected.append(torch.stack([sum((t * g).sum() for t, g in zip(task, step))
                                         for step in steps]))
    torch.testing.assert_close(drops, torch.stack(expected), rtol=1e-4, atol=1e-6)


def test_self_critical_baseline_is_the_greedy_choices_reward():
    """Scoring a baseline action uses the same step size: scored alone as the main
    action, it gets the same reward."""
    from rlpkd.rl.environment import ParallelDistillationEnv
    from rlpkd.testing import build_distiller, det_batch

    torch.manual_seed(0)
    distiller = build_distiller()
    distiller.eval()
    env = ParallelDistillationEnv(distiller, lambda_tradeoff=0.5)
    env.reset(det_batch(distiller, num_images=2)['inputs'])
    observation = env._episode['observation']
    sampled, greedy = torch.tensor([[1, 0, 1, 0], [0, 1, 1, 1.]]), torch.ones(2, 4)
    reward, info = env.score(observation, sampled, baseline_action=greedy)
    alone, _ = env.score(observation, greedy)
    torch.testing.assert_close(info['baseline_reward'], alone)
    torch.testing.assert_close(reward, env.score(observation, sampled)[0])


def test_flip_rewards_are_each_flipped_selections_reward():
    """The per-level counterfactuals scored in one pass equal each flipped selection
    scored on its own (same step size per sample)."""
    from rlpkd.rl.environment import ParallelDistillationEnv
    from rlpkd.testing import build_distiller, det_batch

    torch.manual_seed(0)
    distiller = build_distiller()
    distiller.eval()
    env = ParallelDistillationEnv(distiller, lambda_tradeoff=0.5)
    env.reset(det_batch(distiller, num_images=2)['inputs'])
    observation = env._episode['observation']
    action = torch.tensor([[1, 0, 1, 0], [0, 1, 1, 1.]])
    reward, info = env.score(observation, action, flips=True)
    assert info['flip_rewards'].shape == (2, 4)
    torch.testing.assert_close(reward, env.score(observation, action)[0])
    for level in range(4):
        flipped = action.clone()
        flipped[:, level] = 1 - flipped[:, level]
        torch.testing.assert_close(info['flip_rewards'][:, level],
                                   env.score(observation, flipped)[0])


def test_task_signal_settings_are_checked():
    from rlpkd.rl.environment import ParallelDistillationEnv
    from rlpkd.testing import build_distiller
    distiller = build_distiller()
    with pytest.raises(ValueError, match=r'model\.selector\.reward_signal'):
        ParallelDistillationEnv(distiller, reward_signal='accuracy')
    with pytest.raises(ValueError, match=r'lookahead_chunk=1'):
        ParallelDistillationEnv(distiller, reward_signal='task', lookahead_chunk=4)
    with pytest.raises(ValueError, match=r'lookahead_chunk=1'):
        ParallelDistillationEnv(distiller, reward_signal='stitching', lookahead_chunk=2)


def test_task_signals_prefer_dropping_a_noise_level_the_gap_signal_does_not():
    """Known answer by construction: one image, the teacher's P5 replaced by noise.
    The task rewards score "drop P5" above "keep every level"; the gap reward (the
    prototype's) scores keeping the noise level higher, since it closes a larger gap."""
    from rlpkd.pyramid.functional import TaskInputs
    from rlpkd.rl.environment import ParallelDistillationEnv
    from rlpkd.testing import build_distiller, det_batch

    torch.manual_seed(0)
    distiller = build_distiller()
    distiller.eval()
    batch = det_batch(distiller, num_images=1)
    clean = distiller.pair.teacher_features(batch['inputs'])
    noisy = clean[:3] + [clean[3].mean() + 30 * clean[3].std() * torch.randn_like(clean[3])]
    every, drop_p5 = torch.ones(1, 4), torch.tensor([[1, 1, 1, 0.]])
    rewards = {}
    for signal in ('task', 'alignment', 'batch_alignment', 'gap'):
        env = ParallelDistillationEnv(distiller, lambda_tradeoff=0.0, reward_signal=signal)
        with distiller.pair.student_tap.record() as student, env.observe() as observed:
            distiller.student.loss(batch['inputs'], batch['data_samples'])
        _, observation = env.states(observed, student, noisy, task=TaskInputs(
            batch['inputs'], batch['data_samples']))
        reward, info = env.score(observation, every, baseline_action=drop_p5)
        rewards[signal] = (float(reward), float(info['baseline_reward']))
    assert rewards['task'][0] < rewards['task'][1]  # keep all < drop the noise level
    assert rewards['alignment'][0] < rewards['alignment'][1]
    assert rewards['batch_alignment'][0] < rewards['batch_alignment'][1]
    assert rewards['gap'][0] > rewards['gap'][1]
