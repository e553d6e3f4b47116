"""The design document's usage blocks (../shared/seed/RL-PyramidKD-README.md, 核心组件 and
使用示例), run as written on the toy teacher / student.

Each block is the seed's code with rlpkd's import paths (``rl.x`` -> ``rlpkd.rl.x``,
``utils.x`` -> ``rlpkd.utils.x``). Where the seed contradicts itself or leaves a name
undefined, the least is changed and a comment says why.
"""
import pytest
import torch

from rlpkd.models.utils import build_mm_model
from rlpkd.testing import TOY_STUDENT, TOY_TEACHER


@pytest.fixture(scope='module')
def models():
    torch.manual_seed(0)
    teacher = build_mm_model(dict(cfg_path=TOY_TEACHER), key='teacher')
    student = build_mm_model(dict(cfg_path=TOY_STUDENT), key='student')
    return teacher.eval(), student.eval()


@pytest.fixture(scope='module')
def images():
    gen = torch.Generator().manual_seed(1)
    return torch.randn(8, 3, 64, 96, generator=gen)  # preprocessed images


def test_policy_network_block():
    from rlpkd.compat import PolicyNetwork

    policy = PolicyNetwork()
    state = torch.randn(8, 1542)  # batch=8
    action, log_prob, value = policy.select_action(state, deterministic=False)
    assert action.shape == (8, 4) and log_prob.shape == value.shape == (8,)
    action, log_prob, value = policy.select_action(state, deterministic=True)
    again, _, _ = policy.select_action(state, deterministic=True)
    assert torch.equal(action, again)


def test_distillation_environment_block(models, images):
    from rlpkd.compat import DistillationEnvironment, PolicyNetwork

    teacher_model, student_model = models
    sample_image = images[0]
    policy = PolicyNetwork()
    env = DistillationEnvironment(
        teacher=teacher_model,
        student=student_model,
        lambda_tradeoff=0.5
    )
    state = env.reset(sample_image)
    assert state.shape == (1542,)
    for step in range(4):
        # the seed passes select_action's (action, log_prob, value) tuple as the action
        action, _, _ = policy.select_action(state)
        next_state, reward, done, info = env.step(action)
        assert set(info) >= {'selected_layers', 'distill_loss', 'used_cost', 'saved_cost'}
        assert info['selected_layers'] == [n for n, a in zip(('P2', 'P3', 'P4', 'P5'),
                                                             action.tolist()) if a]
        assert done and isinstance(reward, float)
        assert info['used_cost'] + info['saved_cost'] == pytest.approx(1.0)
        # one step is one whole episode; the next step is a new episode on the same image
        assert torch.equal(next_state, state)
        state = next_state


def test_parallel_environment_block(models, images):
    from rlpkd.compat import PolicyNetwork
    from rlpkd.rl.environment import ParallelDistillationEnv

    teacher, student = models
    batch_images = images
    policy = PolicyNetwork()
    env = ParallelDistillationEnv(
        teacher, student,
        num_envs=8,
        lambda_tradeoff=0.5
    )
    states = env.reset(batch_images)  # [8, state_dim]
    assert states.shape == (8, 1542)
    actions, _, _ = policy.select_action(states)  # the seed passes the whole tuple
    next_states, rewards, dones, infos = env.step(actions)
    assert rewards.shape == dones.shape == (8,) and len(infos['selected_layers']) == 8
    with pytest.raises(ValueError, match='num_envs=8'):
        env.reset(batch_images[:3])


def test_ppo_trainer_block(models, images):
    from rlpkd.compat import PolicyNetwork, PPOTrainer
    from rlpkd.rl.environment import ParallelDistillationEnv

    policy = PolicyNetwork()
    trainer = PPOTrainer(
        policy=policy, lr=3e-4, clip_epsilon=0.2, value_coef=0.5, entropy_coef=0.01,
        gamma=0.99, gae_lambda=0.95, max_grad_norm=0.5, ppo_epochs=4)
    env = ParallelDistillationEnv(*models, num_envs=8, lambda_tradeoff=0.5)
    steps = []  # T = 2 steps of B = 8 environments (undefined in the seed)
    for t in range(2):
        states = env.reset(images)
        with torch.no_grad():
            action, log_prob, value = policy.select_action(states)
        _, reward, done, _ = env.step(action)
        steps.append((states, action, reward, value, log_prob, done))
    states, actions, rewards, values, log_probs, dones = (torch.stack(x) for x in zip(*steps))
    rollout_data = {
        'states': states,      # [T, B, state_dim]
        'actions': actions,    # [T, B, num_layers]
        'rewards': rewards,    # [T, B]
        'values': values,      # [T, B]
        'log_probs': log_probs,  # [T, B]
        'dones': dones         # [T, B]
    }
    losses = trainer.train_step(rollout_data)
    assert set(losses) >= {'policy_loss', 'value_loss', 'entropy', 'clip_fraction'}


def test_maml_trainer_block(models, images):
    from rlpkd.compat import PolicyNetwork
    from rlpkd.rl.environment import ParallelDistillationEnv
    from rlpkd.rl.meta_learning import MAMLTrainer

    policy = PolicyNetwork()
    env = ParallelDistillationEnv(*models, lambda_tradeoff=0.5)

    def rollout(batch):
        # the seed's detection_data / segmentation_data / ... are undefined: one PPO
        # rollout (T = 1) on the toy detection pair per split of the images stands in
        # (the real det / seg / cls meta-training is the phase-4 loop's)
        states = env.reset(batch)
        with torch.no_grad():
            action, log_prob, value = policy.select_action(states)
        _, reward, done, _ = env.step(action)
        return dict(states=states[None], actions=action[None], rewards=reward[None],
                    values=value[None], log_probs=log_prob[None], dones=done[None])

    detection_data, detection_query = rollout(images[:2]), rollout(images[2:4])
    segmentation_data, segmentation_query = rollout(images[4:6]), rollout(images[6:])
    classification_data, classification_query = rollout(images[1:3]), rollout(images[5:7])
    before = {k: v.clone() for k, v in policy.state_dict().items()}
    maml = MAMLTrainer(
        meta_policy=policy,
        inner_lr=1e-3,      # inner-loop learning rate
        outer_lr=1e-4,      # outer-loop learning rate
        num_inner_steps=5   # inner-loop steps
    )

    # meta-training (several tasks)
    tasks = [
        {'support': detection_data, 'query': detection_query},
        {'support': segmentation_data, 'query': segmentation_query},
        {'support': classification_data, 'query': classification_query}
    ]
    meta_losses = maml.meta_update(tasks)
    assert meta_losses['num_tasks'] == 3 and torch.isfinite(torch.tensor(meta_losses['meta_loss']))
    assert any(not torch.equal(before[k], v) for k, v in policy.state_dict().items())

    # fast adaptation to a new task
    new_task_support = rollout(images[::2])  # collect_new_task_data() in the seed
    meta_params = {k: v.clone() for k, v in policy.state_dict().items()}
    adapted_policy = maml.fast_adapt(new_task_support, num_steps=5)
    assert isinstance(adapted_policy, PolicyNetwork) and adapted_policy is not policy
    assert all(torch.equal(meta_params[k], v) for k, v in policy.state_dict().items())
    action, _, _ = adapted_policy.select_action(new_task_support['states'][0])
    assert action.shape == (4, 4)


def test_gradnorm_block(models, images):
    from rlpkd.compat import GradNorm, GradNormTrainer
    from rlpkd.pyramid import PyramidPair

    teacher, student = models
    student_model = student.train()
    pair = PyramidPair.from_models(teacher, student)  # distill_loss is undefined in the seed
    gradnorm = GradNorm(num_tasks=4, alpha=1.5)
    trainer = GradNormTrainer(
        model=student_model,
        gradnorm=gradnorm,
        lr_model=1e-4,
        lr_weights=1e-2
    )
    for batch in (images[:2], images[2:4]):
        s_feats, t_feats = pair.extract(batch)
        losses = [pair.level_pair_loss(n, s, t).mean()
                  for n, s, t in zip(pair.level_names, s_feats, t_feats)]
        total_loss, gradnorm_loss, weights = trainer.train_step(
            losses,
            student.backbone.parameters()
        )
        assert total_loss.dim() == 0 and gradnorm_loss.dim() == 0
        assert weights.shape == (4,)
        torch.testing.assert_close(weights.sum(), torch.tensor(4.0))
    assert not torch.equal(weights, torch.ones(4))  # the weights moved
    student.eval()


def test_logger_block(tmp_path):
    from rlpkd.compat import Logger

    logger = Logger(
        log_dir=str(tmp_path / 'experiments' / 'logs'),
        experiment_name='rl_pyramidkd_coco',
        use_tensorboard=True,
        use_wandb=False
    )
    logger.log('Starting training...')
    metrics = {'loss': 0.523, 'mAP': 41.5, 'reward': 0.82}
    logger.log_metrics(metrics, step=100, prefix='train/')
    heatmap_tensor = torch.rand(32, 48)
    logger.log_image('policy/heatmap', heatmap_tensor, step=100)
    model = torch.nn.Linear(2, 2)
    checkpoint = {'epoch': 10, 'model': model.state_dict()}
    logger.save_checkpoint(checkpoint, 'model_epoch_10.pth')
    logger.close()
    root = tmp_path / 'experiments' / 'logs' / 'rl_pyramidkd_coco'
    assert 'Starting training...' in (root / 'rl_pyramidkd_coco.log').read_text()
    assert 'train/mAP' in (root / 'vis_data' / 'scalars.json').read_text()
    assert (root / 'vis_data' / 'vis_image' / 'policy_heatmap_100.png').is_file()
    assert list((root / 'vis_data').glob('events.out.tfevents.*'))
    assert torch.load(root / 'model_epoch_10.pth')['epoch'] == 10


def test_example_1_train_rl_policy(models, images):
    import torch  # noqa: F811  (the block's own imports)

    from rlpkd.compat import DistillationEnvironment, PolicyNetwork, PPOTrainer

    teacher, student = models
    sample_image = images[0]
    policy = PolicyNetwork(state_dim=1542, hidden_dim=256)
    env = DistillationEnvironment(teacher, student, lambda_tradeoff=0.5)
    trainer = PPOTrainer(policy, lr=3e-4)
    for episode in range(2):  # the seed runs 1000 episodes; 2 show the loop works
        states, actions, rewards, values, log_probs, dones = [], [], [], [], [], []
        state = env.reset(sample_image)
        for step in range(4):
            action, log_prob, value = policy.select_action(state)
            next_state, reward, done, info = env.step(action)
            states.append(state)
            actions.append(action)
            rewards.append(reward)
            values.append(value)
            log_probs.append(log_prob)
            dones.append(done)
            state = next_state
        rollout_data = {
            'states': torch.stack(states).unsqueeze(1),
            'actions': torch.stack(actions).unsqueeze(1),
            'rewards': torch.tensor(rewards).unsqueeze(1),
            'values': torch.stack(values).unsqueeze(1),
            'log_probs': torch.stack(log_probs).unsqueeze(1),
            'dones': torch.tensor(dones).unsqueeze(1)
        }
        assert rollout_data['states'].shape == (4, 1, 1542)
        losses = trainer.train_step(rollout_data)
        assert set(losses) >= {'policy_loss', 'value_loss', 'entropy', 'clip_fraction'}


def test_example_2_gradnorm_with_rl(models, images):
    from rlpkd.compat import GradNorm, GradNormTrainer, PolicyNetwork
    from rlpkd.rl.environment import ParallelDistillationEnv

    teacher, student_model = models
    # construct_state / decode_action / distill_loss are undefined in the seed: the
    # environment's reset, its level names and its pair's level loss stand in for them
    env = ParallelDistillationEnv(teacher, student_model)
    pair = env.pair
    policy = PolicyNetwork()
    gradnorm = GradNorm(num_tasks=4, alpha=1.5)
    gradnorm_trainer = GradNormTrainer(student_model, gradnorm)
    student_model.train()
    for batch in (images[:2], images[2:4]):
        state = env.reset(batch)
        action, _, _ = policy.select_action(state, deterministic=True)  # seed: the tuple
        selected_layers = env.selected_layers(action)[0]
        s_feats, t_feats = pair.extract(batch)
        # the seed builds losses of the selected layers only, which GradNorm(num_tasks=4)
        # cannot map to tasks: a skipped layer is None (it keeps its weight)
        losses = [pair.level_pair_loss(n, s, t).mean() if n in selected_layers else None
                  for n, s, t in zip(pair.level_names, s_feats, t_feats)]
        if not any(loss is not None for loss in losses):
            continue
        total_loss, gradnorm_loss, weights = gradnorm_trainer.train_step(
            losses,
            student_model.backbone.parameters()
        )
        assert weights.shape == (4,)
    student_model.eval()
