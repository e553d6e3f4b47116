"""RLSelector inside the distiller, for the three tasks' RL-PyramidKD configs."""
import pytest
import torch
from conftest import build_from_config, cls_batch, det_batch, seg_batch

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
        selector.mode, selector.record = 'sample', record
        losses = distiller(**batch(distiller), mode='loss')
        transition = selector.finish_transition()
        states.append(distiller.state_dict())
    assert transition is not None and selector.finish_transition() is None
    t = transition
    assert t['states'].shape == (2, selector.policy.encoder[0].in_features)
    assert torch.isfinite(t['rewards']).all()
    assert ((t['actions'] == 0) | (t['actions'] == 1)).all()
    assert 0 <= float(losses['distill_cost']) <= 1
    # scoring steps a virtual copy: no parameter or BN statistic differs from the run
    # that did not score
    assert [k for k in states[0] if not torch.equal(states[0][k], states[1][k])] == []
    # the policy is not trained by the student's loss
    sum(v for k, v in losses.items() if 'loss' in k and isinstance(v, torch.Tensor)).backward()
    assert all(p.grad is None for p in selector.policy.parameters())


def test_uniform_mode_and_greedy_eval():
    torch.manual_seed(0)
    distiller = build_from_config(CASES[0][0])
    distiller.train()
    distiller.selector.mode = 'uniform'
    losses = distiller(**det_batch(distiller), mode='loss')
    assert all(float(losses[f'select_P{i}']) == 1.0 for i in range(2, 6))
    distiller.eval()
    batch = det_batch(distiller)
    first = distiller(**batch, mode='predict')
    second = distiller(**batch, mode='predict')
    assert [r.level_selection for r in first] == [r.level_selection for r in second]
    assert all(0 <= r.used_cost <= 1 for r in first)


def test_score_samples_limits_the_transition():
    torch.manual_seed(0)
    distiller = build_from_config(CASES[2][0])  # classification: the costly lookahead
    distiller.selector.score_samples = 2
    distiller.train()
    distiller.selector.mode, distiller.selector.record = 'sample', True
    distiller(**cls_batch(distiller, num_images=5), mode='loss')
    transition = distiller.selector.finish_transition()
    assert all(v.shape[0] == 2 for v in transition.values())
    assert torch.isfinite(transition['rewards']).all()

