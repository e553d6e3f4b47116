"""Policy files (rlpkd.rl.policy_io) and ``model.selector.policy_init``: a policy saved by
MAMLTrainer starts a toy RL distiller; missing, foreign and misfitting files fail at build."""
import copy

import pytest
import torch
from mmengine.config import Config

from rlpkd.models.utils import config_file
from rlpkd.registry import MODELS
from rlpkd.rl.meta_learning import MAMLTrainer
from rlpkd.rl.policy import PolicyNetwork
from rlpkd.rl.policy_io import read_policy_state
from rlpkd.rl.state import StateLayout

CONFIG = 'rlpkd::resnet/rlpkd_resnet18w32-resnet18w16_toy-folder.py'  # the cheapest build


def build(policy_init=None, **policy):
    """The toy classification RL distiller (random teacher) with ``policy_init``."""
    cfg = Config.fromfile(config_file(CONFIG))
    model = copy.deepcopy(cfg.model)
    model.teacher_ckpt = None
    model.selector.policy_init = None if policy_init is None else str(policy_init)
    model.selector.policy.update(policy)
    return MODELS.build(model)


def trained_policy(**kwargs) -> PolicyNetwork:
    """A 4-level policy on the 1542 state, with parameters no fresh build has."""
    layout = StateLayout.pyramid(4)
    policy = PolicyNetwork(state_dim=layout.dim, num_layers=4, layout=layout,
                           level_costs=[0.7, 0.1, 0.1, 0.1], **kwargs)
    with torch.no_grad():
        for param in policy.parameters():
            param.add_(torch.randn_like(param))
    return policy


def test_meta_policy_round_trip_into_a_task(tmp_path):
    torch.manual_seed(0)
    trainer = MAMLTrainer(trained_policy())
    path = tmp_path / 'meta_policy.pth'
    trainer.save_policy(str(path))
    fresh = build().selector.learnable()
    distiller = build(path)
    distiller.init_weights()  # what the runner calls before training: must keep it
    loaded, saved = distiller.selector.learnable(), trainer.meta_policy.state_dict()
    assert loaded.state_dict().keys() == saved.keys()
    assert all(torch.equal(loaded.state_dict()[k], saved[k]) for k in saved)
    assert not torch.equal(fresh.state_dict()['encoder.0.weight'], saved['encoder.0.weight'])
    # the task keeps its own level costs, and the student's optimiser never sees the policy
    assert torch.equal(loaded.level_costs, fresh.level_costs)
    assert not torch.equal(loaded.level_costs, trainer.meta_policy.level_costs)
    assert not any(p.requires_grad for p in loaded.parameters())


def test_checkpoint_formats_hold_the_same_policy(tmp_path):
    policy = trained_policy()
    state = {k: v.clone() for k, v in policy.state_dict().items()}
    for name, prefix in (('rl_run.pth', 'selector.policy.'), ('meta_run.pth', 'policy.')):
        other = {'student.x': torch.zeros(1), **{prefix + k: v for k, v in state.items()}}
        torch.save(dict(meta=dict(), state_dict=other), tmp_path / name)
        read = read_policy_state(str(tmp_path / name), 'key')
        assert read.keys() == state.keys()
        assert all(torch.equal(read[k], state[k]) for k in state)


@pytest.mark.bad_input
def test_missing_file_fails_at_build(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match=r'`model.selector.policy_init`: no such file: .*absent.pth'):
        build(tmp_path / 'absent.pth')


@pytest.mark.bad_input
def test_policy_of_another_shape_fails_at_build(tmp_path):
    MAMLTrainer(trained_policy(hidden_dim=64)).save_policy(str(tmp_path / 'small.pth'))
    with pytest.raises(ValueError, match=r'`model.selector.policy_init`.*small.pth.*'
                                         r'encoder.0.weight: given \[64, 1542\], policy '
                                         r'\[256, 1542\]'):
        build(tmp_path / 'small.pth')
    # the sequential policy's LSTM into the independent policy: keys differ
    MAMLTrainer(trained_policy()).save_policy(str(tmp_path / 'lstm.pth'))
    with pytest.raises(ValueError, match=r'`model.selector.policy_init`.*unexpected lstm'):
        build(tmp_path / 'lstm.pth', use_lstm=False)


@pytest.mark.bad_input
def test_file_without_policy_fails(tmp_path):
    torch.save(dict(state_dict={'student.backbone.w': torch.zeros(1)}), tmp_path / 'kd.pth')
    with pytest.raises(ValueError, match=r'`model.selector.policy_init`: .*kd.pth holds no '
                                         r'policy'):
        build(tmp_path / 'kd.pth')
