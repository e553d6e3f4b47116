"""The level-credit RL config through tools/train.py: signals in the state, per-level
credit learned by the phase loop, both in the checkpoint."""
from __future__ import annotations

import json
import sys

from test_phase_loop import ROOT, options, run, state

from rlpkd.datasets import generate_toy_coco

CFG = ROOT / 'configs' / 'faster_rcnn' / \
    'rlpkd-levelcredit_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'


def test_level_credit_config_trains_and_checkpoints_its_state(tmp_path):
    data = tmp_path / 'data'
    generate_toy_coco(data, num_train=8, num_val=4, seed=5)
    work = tmp_path / 'run'
    run([sys.executable, str(ROOT / 'tools' / 'train.py'), str(CFG), '--work-dir', str(work),
         '--cfg-options', *options(data)])
    logged = [json.loads(line) for line in
              next(work.glob('*/vis_data/scalars.json')).read_text().splitlines()]
    credit = [r for r in logged if 'rl/credit' in r]
    assert credit and all(0 <= r['rl/agreement'] <= 1 for r in credit)
    weights = state(work / 'epoch_4.pth')
    # the signals' running statistics: every image state of the policy phases
    assert weights['selector.env.signals.standardisers.discrepancy.count'] > 0
    assert weights['selector.policy.encoder.0.weight'].shape[1] == 4 + 4 + 1
    assert weights['selector.policy.lstm.weight_ih'].shape[1] == 256 + 2 * 4 + 2 + 1
