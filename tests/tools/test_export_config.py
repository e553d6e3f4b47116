"""The student config that tools/export_student.py writes needs no rlpkd (issue 11, case 5).

For the RL-PyramidKD configs (phase loop, policy hook, selection metric): a distiller
checkpoint -> export_student.py (the real tool) -> a Python in which ``import rlpkd``
fails loads the exported config with mmengine and runs it with the student's package
alone. Detection: mmengine's Runner tests the exported checkpoint on toy data (what
mmdet's tools/test.py does), builds the train loop, and mmdet's inference API predicts.
Segmentation and classification: the config holds nothing of rlpkd and its model,
metrics, hooks and train loop build in mmseg / mmpretrain.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rlpkd.datasets import generate_toy_coco

ROOT = Path(__file__).resolve().parents[2]
RL_CONFIGS = {
    'det': ROOT / 'configs' / 'faster_rcnn' / 'rlpkd_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py',
    'seg': ROOT / 'configs' / 'deeplabv3plus'
    / 'rlpkd_deeplabv3plus_r18w32-r18w16-d8_toy-ade.py',
    'cls': ROOT / 'configs' / 'resnet' / 'rlpkd_resnet18w32-resnet18w16_toy-folder.py',
}
#: epochs of each RL config's three phases together: the exported train loop's length
EPOCHS = {'det': 12, 'seg': 12, 'cls': 6}

# Runs first in every rlpkd-free process: `import rlpkd` (and of any rlpkd.*) fails.
NO_RLPKD = """import sys
sys.modules['rlpkd'] = None
try:
    import rlpkd  # noqa
except ImportError:
    pass
else:
    raise SystemExit('rlpkd is importable')
import json
from mmengine.config import Config


def rlpkd_left(cfg):
    found = []
    def walk(value, where):
        if isinstance(value, dict):
            if value.get('_scope_') == 'rlpkd':
                found.append(where)
            for key, item in value.items():
                walk(key, where)
                walk(item, f'{where}.{key}')
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                walk(item, f'{where}.{i}')
        elif isinstance(value, str) and (value == 'rlpkd' or value.startswith(
                ('rlpkd.', 'rlpkd::'))):
            found.append(f'{where}={value}')
    walk(cfg.to_dict(), 'cfg')
    return found


def done(**result):
    loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'rlpkd'
                    and sys.modules[m] is not None)
    print('RESULT ' + json.dumps(dict(result, rlpkd_modules=loaded)))
"""

DET_SCRIPT = NO_RLPKD + """
from mmengine.runner import Runner
cfg = Config.fromfile('student.py')
left = rlpkd_left(cfg)
cfg.work_dir = 'work_dir'
cfg.load_from = 'student.pth'  # mmdet's tools/test.py: CONFIG CHECKPOINT
for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
    cfg[key].num_workers = 0
    cfg[key].persistent_workers = False
runner = Runner.from_cfg(cfg)
metrics = runner.test()
loop = runner.train_loop
from mmdet.apis import inference_detector, init_detector
detector = init_detector('student.py', 'student.pth', device='cpu')
image = sorted(__import__('glob').glob('data/toy_coco/val/*.png'))[0]
pred = inference_detector(detector, image).pred_instances
done(left=left, model=type(runner.model).__module__, metrics=sorted(metrics),
     loop=type(loop).__name__, max_epochs=loop.max_epochs, boxes=len(pred.bboxes))
"""

BUILD_SCRIPT = NO_RLPKD + """
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import HOOKS, LOOPS, MODELS, init_default_scope
cfg = Config.fromfile('student.py')
init_default_scope(cfg.default_scope)
model = MODELS.build(cfg.model)
state = torch.load('student.pth', map_location='cpu')['state_dict']
missing, unexpected = model.load_state_dict(state, strict=False)
evaluator = Evaluator(cfg.test_evaluator)
hooks = [HOOKS.build(hook) for hook in cfg.get('custom_hooks', [])]
loop = LOOPS.get(cfg.train_cfg.type)
done(left=rlpkd_left(cfg), model=type(model).__module__, missing=missing,
     unexpected=unexpected, metrics=[type(m).__name__ for m in evaluator.metrics],
     loop=loop.__name__, max_epochs=cfg.train_cfg.max_epochs, hooks=len(hooks))
"""


def run(argv: list[str], cwd: Path) -> str:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def without_rlpkd(script: str, cwd: Path) -> dict:
    out = run([sys.executable, '-c', script], cwd)
    return json.loads(next(ln for ln in out.splitlines() if ln.startswith('RESULT '))[7:])


def export(task: str, tmp: Path) -> None:
    """A checkpoint of the task's RL distiller (random teacher) exported by the real tool."""
    from rlpkd.testing import build_from_config

    torch.manual_seed(0)
    distiller = build_from_config(RL_CONFIGS[task])
    torch.save({'meta': {}, 'state_dict': distiller.state_dict()}, tmp / 'rl.pth')
    run([sys.executable, str(ROOT / 'tools' / 'export_student.py'), 'rl.pth', 'student.pth',
         '--config', str(RL_CONFIGS[task]), '--out-config', 'student.py'], tmp)


def test_exported_rl_detection_config_tests_trains_and_infers_without_rlpkd(tmp_path):
    generate_toy_coco(tmp_path / 'data' / 'toy_coco', num_train=4, num_val=3, seed=5)
    export('det', tmp_path)
    result = without_rlpkd(DET_SCRIPT, tmp_path)
    assert result['left'] == [] and result['rlpkd_modules'] == []
    assert result['model'].startswith('mmdet.')
    assert result['metrics'] and all(m.startswith('coco/') for m in result['metrics'])
    assert (result['loop'], result['max_epochs']) == ('EpochBasedTrainLoop', EPOCHS['det'])
    assert result['boxes'] >= 0


@pytest.mark.parametrize('task', ['seg', 'cls'])
def test_exported_rl_seg_cls_configs_need_no_rlpkd(task, tmp_path):
    export(task, tmp_path)
    result = without_rlpkd(BUILD_SCRIPT, tmp_path)
    package = {'seg': 'mmseg.', 'cls': 'mmpretrain.'}[task]
    assert result['left'] == [] and result['rlpkd_modules'] == []
    assert result['model'].startswith(package)
    assert result['missing'] == [] and result['unexpected'] == []
    assert len(result['metrics']) == 1 and result['hooks'] == 0
    assert (result['loop'], result['max_epochs']) == ('EpochBasedTrainLoop', EPOCHS[task])
