"""Distillation configs in a user's own project folder (issue 11, case 6).

A temporary folder plays the user's project: toy data in ``data/``, configs in
``configs/`` (a student and a teacher config next to the distillation config), and every
command runs from the project folder, not from the config folder nor from rlpkd's
checkout. Trained with rlpkd's tools/train.py and with mmdet's own flow (a script doing
what mmdet's tools/train.py does: ``Config.fromfile`` + ``Runner.from_cfg``; rlpkd comes
in only through the config's ``custom_imports``). Each run must train the student and
teacher the config names: the user's files, recognisable by their head widths.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.runner import CheckpointLoader

from rlpkd.apis import cli
from rlpkd.datasets import generate_toy_coco
from rlpkd.models.utils import resolve_model_cfg, resolve_relative_cfg_paths

ROOT = Path(__file__).resolve().parents[2]

# The user's student and teacher: rlpkd's toy models with their own head widths.
STUDENT = """_base_ = ['rlpkd::faster_rcnn/faster-rcnn_r18-w16_fpn_toy-coco.py']
model = dict(roi_head=dict(bbox_head=dict(fc_out_channels=96)))
"""
TEACHER = """_base_ = ['rlpkd::faster_rcnn/faster-rcnn_r18-w32_fpn_toy-coco.py']
model = dict(roi_head=dict(bbox_head=dict(fc_out_channels=112)))
"""
# Two iterations (4 images, batch 2), no validation, one checkpoint.
SHORT_RUN = """
model = dict(student=dict(cfg_path={student!r}), teacher=dict(cfg_path={teacher!r}),
             teacher_ckpt=None)
train_cfg = dict(max_epochs=1, val_interval=10)
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False)
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
"""
# The README's distillation config: rlpkd's bases by `rlpkd::`, the models by relative path.
KD = """_base_ = ['rlpkd::_base_/distillers/kd-uniform_fpn.py',
          'rlpkd::_base_/datasets/toy_coco_detection.py',
          'rlpkd::_base_/schedules/toy_12e.py',
          'mmdet::_base_/default_runtime.py']
""" + SHORT_RUN.format(student='./my_student.py', teacher='my_teacher.py')
# What mmdet's tools/train.py does, without importing rlpkd.
MMDET_TRAIN = """import sys
from mmengine.config import Config
from mmengine.runner import Runner
assert 'rlpkd' not in sys.modules
cfg = Config.fromfile(sys.argv[1])
cfg.work_dir = sys.argv[2]
Runner.from_cfg(cfg).train()
assert 'rlpkd' in sys.modules  # through the config's custom_imports
"""


def run(*argv, cwd: Path) -> str:
    proc = subprocess.run([sys.executable, *map(str, argv)], cwd=cwd, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope='module')
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('user_project')
    generate_toy_coco(root / 'data' / 'toy_coco', num_train=4, num_val=2, seed=7)
    configs = root / 'configs'
    configs.mkdir()
    (configs / 'my_student.py').write_text(STUDENT)
    (configs / 'my_teacher.py').write_text(TEACHER)
    (configs / 'my_kd.py').write_text(KD)
    return root


def head_widths(ckpt: Path) -> tuple[int, int]:
    state = CheckpointLoader.load_checkpoint(str(ckpt), 'cpu')['state_dict']
    key = 'roi_head.bbox_head.shared_fcs.0.weight'
    return state[f'student.{key}'].shape[0], state[f'teacher.{key}'].shape[0]


def test_rlpkd_bases_and_relative_cfg_paths_with_rlpkd_tools(project):
    run(ROOT / 'tools' / 'train.py', 'configs/my_kd.py', '--work-dir', 'wd', cwd=project)
    assert head_widths(project / 'wd' / 'epoch_1.pth') == (96, 112)

    # the exported student is the user's student too
    run(ROOT / 'tools' / 'export_student.py', 'wd/epoch_1.pth', 'student.pth', '--config',
        'configs/my_kd.py', '--out-config', 'student.py', cwd=project)
    exported = Config.fromfile(str(project / 'student.py'))
    assert exported.model.roi_head.bbox_head.fc_out_channels == 96


def test_mmdet_own_train_flow_with_custom_imports(project):
    """mmengine reads ``_base_`` before it imports ``custom_imports``, so here rlpkd's
    bases are given by path; ``{{ fileDirname }}`` makes the model paths relative to the
    config for any tool, and ``rlpkd::`` works inside the student / teacher files."""
    configs = project / 'configs'
    rlpkd_configs = Path(os.path.relpath(ROOT / 'configs', configs))
    bases = [rlpkd_configs / '_base_' / name for name in (
        'distillers/kd-uniform_fpn.py', 'datasets/toy_coco_detection.py',
        'schedules/toy_12e.py')]
    (configs / 'my_kd_mmdet.py').write_text(
        f'_base_ = {[str(b) for b in bases] + ["mmdet::_base_/default_runtime.py"]!r}\n'
        "custom_imports = dict(imports=['rlpkd'], allow_failed_imports=False)\n"
        + SHORT_RUN.format(student='{{ fileDirname }}/my_student.py',
                           teacher='{{ fileDirname }}/my_teacher.py'))
    (project / 'mmdet_train.py').write_text(MMDET_TRAIN)
    run('mmdet_train.py', 'configs/my_kd_mmdet.py', 'wd_mmdet', cwd=project)
    assert head_widths(project / 'wd_mmdet' / 'epoch_1.pth') == (96, 112)


def test_relative_cfg_path_rules(tmp_path, monkeypatch):
    configs, elsewhere = tmp_path / 'configs', tmp_path / 'elsewhere'
    configs.mkdir()
    elsewhere.mkdir()
    (configs / 'kd.py').write_text(
        "model = dict(type='D', student=dict(cfg_path='./s.py'), "
        "teacher=dict(cfg_path='t.py', override=dict(a=1)), other='x.py')\n")
    (configs / 's.py').write_text("model = dict(type='S')\n")
    monkeypatch.chdir(elsewhere)

    # next to the config; a path found nowhere is reported next to the config too
    cfg = cli.read_config('../configs/kd.py')
    assert cfg.model.student.cfg_path == str(configs / 's.py')
    assert cfg.model.teacher.cfg_path == str(configs / 't.py')
    assert cfg.model.other == 'x.py'
    # in the working directory only: kept (what it meant before, and for other tools)
    (elsewhere / 't.py').write_text("model = dict(type='T')\n")
    assert cli.read_config('../configs/kd.py').model.teacher.cfg_path == 't.py'
    # two different files: an error, not a guess
    (elsewhere / 's.py').write_text("model = dict(type='S2')\n")
    with pytest.raises(ValueError, match=r'model.student.cfg_path.*fileDirname'):
        cli.read_config('../configs/kd.py')
    # absolute, `pkg::` and `{{ fileDirname }}` paths are left alone
    model = dict(student=dict(cfg_path='mmdet::x.py'), teacher=dict(cfg_path='/a/b.py'))
    assert resolve_relative_cfg_paths(model, str(configs / 'kd.py')) == []

    # a relative path the distiller reads itself (other tools) names the fix
    with pytest.raises(FileNotFoundError, match=r'working directory.*fileDirname'):
        resolve_model_cfg(dict(cfg_path='./missing.py'), key='model.student')
