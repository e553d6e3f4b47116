"""The config snippets of the user docs are whole config files that load and mean what the
text around them says.

A config snippet is a ```python block whose first line is ``# config: <path>``, in README.md,
docs/getting_started.md or docs/own_data.md. Each is written to ``<path>`` in a temporary
project (so snippets that inherit one another resolve as in the docs) and read with rlpkd's
config reader; the keys that matter are checked, the cheap ones are built, and the data
settings of the "own data" walk-through load a small dataset laid out as the text describes.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from rlpkd.apis.cli import read_config
from rlpkd.registry import MODELS

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / 'README.md'
GUIDE = ROOT / 'docs' / 'getting_started.md'
OWN_DATA = ROOT / 'docs' / 'own_data.md'  # the "own data and teacher" walk-through
MARK = '# config: '
BLOCK = re.compile(r'^```python\n(.*?)^```', re.S | re.M)
DATA = 'my_project/configs/_base_/my_coco_detection.py'
TEACHER = 'my_project/configs/faster-rcnn_r101_fpn_1x_my-coco.py'
KD = 'my_project/configs/kd-uniform_faster-rcnn_r101-r50_fpn_1x_my-coco.py'
RL = 'my_project/configs/rlpkd_faster-rcnn_r101-r50_fpn_40e_my-coco.py'
SEG = 'my_project/configs/kd-uniform_deeplabv3plus_r101-r50-d8_80k_my-ade-512x512.py'
README_KD = 'my_project/configs/kd-gradnorm_faster-rcnn_r101-r50_fpn_1x_coco.py'
CLASSES = ('cat', 'dog', 'bird')


def python_blocks(text: str) -> list[str]:
    """The bodies of the ```python blocks of ``text``."""
    return BLOCK.findall(text)


def config_snippets(text: str) -> dict[str, str]:
    """``path -> body`` of the config snippets of ``text``."""
    return {body.splitlines()[0][len(MARK):].strip(): body
            for body in python_blocks(text) if body.startswith(MARK)}


def all_snippets() -> dict[str, str]:
    """The config snippets of the README, the getting-started guide and the own-data page."""
    return {**config_snippets(README.read_text(encoding='utf-8')),
            **config_snippets(GUIDE.read_text(encoding='utf-8')),
            **config_snippets(OWN_DATA.read_text(encoding='utf-8'))}


SNIPPETS = all_snippets()


@pytest.fixture(scope='module')
def project(tmp_path_factory) -> Path:
    """A folder holding every config snippet at the path its first line names."""
    root = tmp_path_factory.mktemp('project')
    for name, body in SNIPPETS.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding='utf-8')
    return root


def load(project: Path, name: str) -> Config:
    return read_config(str(project / name))


def values_of(tree, key: str) -> list:
    """Every value stored under ``key`` anywhere in a nested dict / list."""
    found = []
    if isinstance(tree, dict):
        for k, v in tree.items():
            found += [v] if k == key else values_of(v, key)
    elif isinstance(tree, (list, tuple)):
        for item in tree:
            found += values_of(item, key)
    return found


def test_the_docs_hold_the_snippets_the_text_walks_through():
    readme = config_snippets(README.read_text(encoding='utf-8'))
    own_data = config_snippets(OWN_DATA.read_text(encoding='utf-8'))
    assert set(readme) == {README_KD}
    assert set(own_data) == {DATA, TEACHER, KD, RL, SEG}


@pytest.mark.parametrize('text', ['README', 'own data'])
def test_python_blocks_without_the_mark_are_not_configs(text):
    body = (README if text == 'README' else OWN_DATA).read_text(encoding='utf-8')
    for block in python_blocks(body):
        if not block.startswith(MARK):
            assert '_base_' not in block and not re.search(r'^model = dict\(', block, re.M), block


@pytest.mark.parametrize('name', sorted(SNIPPETS))
def test_every_config_snippet_reads(project, name):
    cfg = load(project, name)
    if '/_base_/' in name:  # a base: data settings only
        assert cfg.train_dataloader and not cfg.get('model'), name
        return
    assert cfg.get('model') and cfg.get('train_cfg') and cfg.get('optim_wrapper'), name
    if cfg.model.get('type') == 'rlpkd.PyramidDistiller':
        assert 'teacher_ckpt' in cfg.model, f'{name}: teacher_ckpt is required'
        assert cfg.model.student and cfg.model.teacher
        assert cfg.custom_imports['imports'] == ['rlpkd']


def phase_loop_snippets() -> list[str]:
    return sorted(n for n, body in SNIPPETS.items() if 'rlpkd.PhaseTrainLoop' in body)


@pytest.mark.parametrize('name', phase_loop_snippets())
def test_rl_snippets_replace_the_loop_and_cover_the_phases(project, name):
    cfg = load(project, name)
    loop = cfg.train_cfg
    assert loop.type == 'rlpkd.PhaseTrainLoop'
    assert 'max_epochs' not in loop, f'{name}: the inherited loop was merged in (_delete_)'
    total = sum(phase['epochs'] for phase in loop.phases)
    assert [p['mode'] for p in loop.phases] == ['uniform', 'sample', 'sample']
    assert loop.learners.ppo.type == 'rlpkd.PPOLearner'
    for scheduler in cfg.param_scheduler:
        if scheduler.get('by_epoch', True):
            assert scheduler['end'] == total, f'{name}: {scheduler} does not span {total}'
            assert all(m < total for m in scheduler.get('milestones', ()))
    assert cfg.model.selector.type == 'rlpkd.RLSelector'
    assert 'UniformSelector' not in str(cfg.model.selector)
    metrics = [m['type'] for m in cfg.test_evaluator]
    assert 'rlpkd.LevelSelectionMetric' in metrics


def test_there_are_rl_snippets_to_check():
    assert RL in phase_loop_snippets() and len(phase_loop_snippets()) >= 2


@pytest.mark.parametrize('name', [KD, RL, SEG])
def test_own_classes_reach_both_models_and_every_split(project, name):
    cfg = load(project, name)
    classes = cfg.train_dataloader.dataset.metainfo['classes']
    for side in ('student', 'teacher'):
        counts = values_of(cfg.model[side].get('override', {}), 'num_classes')
        assert counts and set(counts) == {len(classes)}, f'{name}: model.{side}.override'
    root = cfg.train_dataloader.dataset.data_root
    for split in ('val_dataloader', 'test_dataloader'):
        dataset = cfg[split].dataset
        assert dataset.data_root == root and dataset.metainfo['classes'] == classes, split
    for evaluator in values_of(cfg.test_evaluator, 'ann_file') + values_of(
            cfg.val_evaluator, 'ann_file'):
        assert evaluator.startswith(root), f'{name}: evaluator reads {evaluator}'
    assert cfg.auto_scale_lr.base_batch_size > 0, f'{name}: --auto-scale-lr needs it'


def test_the_teacher_config_trains_on_the_own_classes(project):
    cfg = load(project, TEACHER)
    assert cfg.model.backbone.depth == 101
    assert cfg.model.roi_head.bbox_head.num_classes == len(CLASSES)
    assert cfg.train_dataloader.dataset.metainfo['classes'] == CLASSES
    assert load(project, KD).model.teacher_ckpt.startswith(
        'work_dirs/' + Path(TEACHER).stem + '/')


def write_image(path: Path, value: int = 0, size: int = 64, channels: int = 3) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.full((size, size, channels) if channels > 1 else (size, size), value, np.uint8)
    assert cv2.imwrite(str(path), image)


def write_coco(root: Path, split: str) -> None:
    """One image with one 'dog' box, laid out as the walk-through says."""
    write_image(root / split / 'img0.jpg', 128)
    ann = dict(images=[dict(id=1, file_name='img0.jpg', width=64, height=64)],
               annotations=[dict(id=1, image_id=1, category_id=2, bbox=[8, 8, 20, 20],
                                 area=400, iscrowd=0)],
               categories=[dict(id=i + 1, name=c) for i, c in enumerate(CLASSES)])
    (root / 'annotations').mkdir(parents=True, exist_ok=True)
    (root / 'annotations' / f'{split}.json').write_text(json.dumps(ann), encoding='utf-8')


def test_own_detection_data_loads_as_laid_out(project, tmp_path, monkeypatch):
    from mmdet.registry import DATASETS, METRICS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = load(project, KD)
    monkeypatch.chdir(tmp_path)
    for split in ('train', 'val'):
        write_coco(tmp_path / cfg.train_dataloader.dataset.data_root, split)
    train = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(train) == 1 and train.metainfo['classes'] == CLASSES
    assert train[0]['data_samples'].gt_instances.labels.tolist() == [1]  # 'dog'
    assert len(DATASETS.build(cfg.test_dataloader.dataset)) == 1
    metric = METRICS.build(cfg.val_evaluator)
    assert metric._coco_api.getCatIds() == [1, 2, 3]


def test_own_segmentation_data_loads_as_laid_out(project, tmp_path, monkeypatch):
    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = load(project, SEG)
    monkeypatch.chdir(tmp_path)
    root = tmp_path / cfg.train_dataloader.dataset.data_root
    for split in ('training', 'validation'):
        write_image(root / 'images' / split / 'img0.jpg', 100)
        write_image(root / 'annotations' / split / 'img0.png', 2, channels=1)  # 'car'
    train = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(train) == 1 and train.metainfo['classes'] == ('road', 'car', 'tree')
    labels = set(train[0]['data_samples'].gt_sem_seg.data.unique().tolist())
    assert labels <= {1, 255} and 1 in labels  # stored 2 = class 1 ('car') after reduce_zero
    assert len(DATASETS.build(cfg.test_dataloader.dataset)) == 1


def build(project: Path, name: str):
    cfg = load(project, name)
    cfg.model.teacher_ckpt = None  # the architecture, not the weights
    return MODELS.build(cfg.model)


def test_readme_snippet_builds_with_gradnorm(project):
    model = build(project, README_KD)
    assert type(model.balancer).__name__ == 'GradNormBalancer'
    assert model.student.roi_head.bbox_head.num_classes == 80
    assert model.teacher.backbone.depth == 101 and model.student.backbone.depth == 50


def test_own_data_detection_snippet_builds_with_the_own_classes(project):
    model = build(project, KD)
    for side in (model.student, model.teacher):
        assert side.roi_head.bbox_head.num_classes == len(CLASSES)


def test_own_data_segmentation_snippet_builds_with_the_own_classes(project):
    model = build(project, SEG)
    for side in (model.student, model.teacher):
        assert side.decode_head.num_classes == 3 and side.auxiliary_head.num_classes == 3


def test_readme_keeps_the_two_commands_that_ci_runs():
    readme = README.read_text(encoding='utf-8')
    block = ('# 1. install everything into .venv, then run the main job (toy detection KD, '
             '~19 min on 2 cores)\n'
             'bash tools/setup_env.sh && .venv/bin/python tools/demo.py\n\n'
             '# 2. install everything into .venv, then lint and run the test suite\n'
             'bash tools/setup_env.sh && .venv/bin/ruff check . && '
             '.venv/bin/python -m pytest tests -q\n')
    assert f'```bash\n{block}```' in readme
    ci = (ROOT / '.ci' / 'run').read_text(encoding='utf-8').strip().splitlines()
    assert ci[-1] == block.strip().splitlines()[-1]


@pytest.mark.parametrize('folder', ['faster_rcnn', 'mask_rcnn', 'deeplabv3plus', 'resnet',
                                    'nas', 'maml'])
def test_config_readmes_list_every_config_and_what_was_measured(folder):
    readme = (ROOT / 'configs' / folder / 'README.md').read_text(encoding='utf-8')
    for config in sorted((ROOT / 'configs' / folder).glob('*.py')):
        assert f'`{config.name}`' in readme, f'configs/{folder}/README.md lacks {config.name}'
    assert 'tools/train.py' in readme and 'tools/test.py' in readme
    assert 'tools/dist_train.sh' in readme and ' 8\n' in readme
    assert '## What we measured' in readme and 'not measured' in readme
    assert '../../docs/results.md#' in readme
