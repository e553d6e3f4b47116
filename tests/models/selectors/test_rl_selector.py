"""RLSelector inside the distiller, for the three tasks' RL-PyramidKD configs."""
import pytest
import torch

from rlpkd.testing import build_from_config, cls_batch, det_batch, seg_batch

CASES = [
    ('rlpkd::faster_rcnn/rlpkd_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py', det_batch),
    ('rlpkd::deeplabv3plus/rlpkd_deeplabv3plus_r18w32-r18w16-d8_toy-ade.py', seg_batch),
    ('rlpkd::resnet/rlpkd_resnet18w32-resnet18w16_toy-folder.py', cls_batch),
]


@pytest.mark.parametrize('config,batch', CASES, ids=['det', 'seg', 'cls'])
def test_sampled_selection_scored_and_recorded(config, batch):
    states = []
    for record in (False, True):  # the same model and batch, scored or not
        torch.manual_seed(0)
        distiller = build_from_config(config)
        distiller.train()
        selector = distiller.selector
        selector.set_mode('sample')
        if record:
            selector.request_experience()
        losses = distiller(**batch(distiller), mode='loss')
        experience = selector.collect_experience()
        states.append(distiller.state_dict())
    assert experience is not None and selector.collect_experience() is None
    assert experience.states.shape == (2, 1542)  # the same state size for every task
    assert torch.isfinite(experience.rewards).all()
    assert ((experience.actions == 0) | (experience.actions == 1)).all()
    assert 0 <= float(losses['distill_cost']) <= 1
    # scoring steps a virtual copy: no parameter or BN statistic differs from the run
    # that did not score
    assert [k for k in states[0] if not torch.equal(states[0][k], states[1][k])] == []
    # the policy is not trained by the student's loss
    sum(v for k, v in losses.items() if 'loss' in k and isinstance(v, torch.Tensor)).backward()
    assert all(p.grad is None for p in selector.learnable().parameters())


def test_uniform_mode_and_greedy_eval():
    torch.manual_seed(0)
    distiller = build_from_config(CASES[0][0])
    distiller.train()
    distiller.selector.set_mode('uniform')
    losses = distiller(**det_batch(distiller), mode='loss')
    assert all(float(losses[f'select_P{i}']) == 1.0 for i in range(2, 6))
    distiller.eval()
    batch = det_batch(distiller)
    first = distiller(**batch, mode='predict')
    second = distiller(**batch, mode='predict')
    assert [r.level_selection for r in first] == [r.level_selection for r in second]
    assert all(0 <= r.used_cost <= 1 for r in first)


def test_requested_samples_limit_the_experience():
    torch.manual_seed(0)
    distiller = build_from_config(CASES[2][0])  # classification: the costly lookahead
    distiller.train()
    distiller.selector.request_experience(num_samples=2)
    distiller(**cls_batch(distiller, num_images=5), mode='loss')
    experience = distiller.selector.collect_experience()
    assert len(experience) == 2
    assert all(v.shape[0] == 2 for v in experience.as_dict().values())
    assert torch.isfinite(experience.rewards).all()
    # a request is served once: the next forward records nothing
    distiller(**cls_batch(distiller, num_images=5), mode='loss')
    assert distiller.selector.collect_experience() is None


@pytest.mark.bad_input
def test_bad_mode_and_request_rejected():
    distiller = build_from_config(CASES[0][0])
    with pytest.raises(ValueError, match="no mode 'random'"):
        distiller.selector.set_mode('random')
    with pytest.raises(ValueError, match='num_samples must be >= 1'):
        distiller.selector.request_experience(0)



def test_policy_moves_between_tasks():
    """A policy trained on detection loads into classification unchanged (and back)."""
    torch.manual_seed(0)
    det = build_from_config(CASES[0][0]).selector
    cls = build_from_config(CASES[2][0]).selector
    assert det.env.state_dim == cls.env.state_dim == 1542
    assert det.env.layout == cls.env.layout
    with torch.no_grad():
        for p in det.learnable().parameters():
            p.add_(torch.randn_like(p))  # "trained": differs from cls's initial policy
    result = cls.learnable().load_state_dict(det.learnable().state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    # each keeps its own task's level costs (not learned, not in the state_dict)
    assert not torch.equal(det.learnable().level_costs, cls.learnable().level_costs)
    loaded, trained = cls.learnable().state_dict(), det.learnable().state_dict()
    assert all(torch.equal(loaded[k], trained[k]) for k in trained)
    probs, value = cls.learnable()(torch.rand(3, 1542))
    assert probs.shape == (3, 4) and value.shape == (3,)
