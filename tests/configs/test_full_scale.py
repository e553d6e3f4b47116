"""Every full-scale config trains: the real architectures (ResNet-101 / ResNet-50, mmdet's
FPN and heads, mmseg's DeepLabV3+ heads, mmpretrain's classifier) and one training
iteration on CPU through mmengine's Runner, with the config's own train loop, optimiser,
schedulers and hooks (a phase or search loop runs one iteration of its learning phase).

Only what cannot run here is changed (:mod:`rlpkd.benchmarking.offline`, shared with
``benchmarks/full_size_step.py``): the data are a few generated toy images read by
the config's own dataset type and pipeline, its image sizes scaled down (COCO 800 -> 128
pixels, ADE20K 512 -> 64, ImageNet 224 -> 64, the seg preprocessor's padding with them),
batches of 2, 64 RoIs sampled per image by the R-CNN heads instead of 512; no teacher
checkpoint (``model.teacher_ckpt=None``) and no pretrained backbone is downloaded; no
validation, test or checkpoint; the runner's environment report and config text are
skipped. The MAML config meta-trains one iteration over its three tasks, so shrunk.
``tools/benchmark.py TASK --full`` prints commands for exactly these configs; the models
its options change build here.
"""
from __future__ import annotations

import copy
import json
import math
import shlex
from pathlib import Path

import pytest
import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from rlpkd.apis.cli import read_config
from rlpkd.benchmarking import full_commands, methods
from rlpkd.benchmarking.offline import offline_config
from rlpkd.benchmarking.plan import TOY_TASKS
from rlpkd.datasets import generate_toy_ade, generate_toy_coco, generate_toy_folder
from rlpkd.models.utils import config_file
from rlpkd.registry import MODELS

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / 'configs'
FULL = sorted(p for p in CONFIGS.rglob('*.py')
              if '_base_' not in p.parts and 'toy' not in p.stem and p.parent.name != 'maml')
MAML = CONFIGS / 'maml' / 'maml_rlpkd_coco-ade20k-in1k.py'
#: task -> (name part of its configs, image side of the test, the config's side)
TASKS = {'ins': ('mask-rcnn', 128, 800), 'det': ('faster-rcnn', 128, 800),
         'seg': ('deeplabv3plus', 64, 512), 'cls': ('resnet101', 64, 224)}
#: RoIs the R-CNN heads sample per training image (mmdet's 512: 3 of the 4 seconds of a
#: Faster R-CNN step here)
RCNN_ROIS = 64
#: (teacher, student) backbone depths
DEPTHS = {'kd-uniform_deeplabv3plus_r101-r18-d8_4xb4-80k_ade20k-512x512': (101, 18)}


def task_of(path: Path) -> str:
    return next(task for task, (part, _, _) in TASKS.items() if part in path.stem)


def test_every_full_scale_config_is_tested():
    """Per task: uniform KD, + GradNorm, RL-PyramidKD and the three NAS searches and
    retrains (and DeepLabV3+'s R101 -> R18 pair)."""
    counts = {task: sum(task_of(p) == task for p in FULL) for task in TASKS}
    assert counts == dict(ins=9, det=9, seg=10, cls=9)


@pytest.fixture(scope='module')
def toy_data(tmp_path_factory):
    """``task -> data root``: four training images (a held-out split takes two; other
    configs read two: one batch of 2) and one validation image, generated on first use."""
    root, made = tmp_path_factory.mktemp('full_scale_data'), {}

    def get(task: str) -> Path:
        key = 'det' if task == 'ins' else task
        if key not in made:
            made[key] = root / key
            make = dict(det=generate_toy_coco, seg=generate_toy_ade, cls=generate_toy_folder)
            make[key](made[key], num_train=4, num_val=1, seed=1)
        return made[key]
    return get


@pytest.fixture(autouse=True)
def quiet_runner(monkeypatch):
    """The runner's environment report (compilers, CUDA) and its config text (formatted
    by yapf: 1-3 s per runner) concern no training: left out."""
    monkeypatch.setattr(Runner, '_log_env', lambda self, env_cfg=None: None)
    monkeypatch.setattr(Config, 'pretty_text', property(lambda self: str(self.filename)))


# ------------------------------------------------------------------ shrinking a config
def shrink(cfg: Config, task: str, root: Path, work_dir: Path) -> Config:
    """``cfg`` with the changes of the module docstring (:mod:`rlpkd.benchmarking.offline`
    at this test's image sizes and RoI count, one iteration), quiet."""
    _, size, full_size = TASKS[task]
    offline_config(cfg, task, root, work_dir, factor=size / full_size, iters=1,
                   rcnn_rois=RCNN_ROIS)
    cfg.log_level = 'WARNING'
    return cfg


def depth(module) -> int:
    return module.backbone.depth


@pytest.mark.parametrize('path', FULL, ids=[p.stem for p in FULL])
def test_full_scale_config_trains_one_iteration(path, toy_data, tmp_path):
    task = task_of(path)
    cfg = shrink(read_config(str(path)), task, toy_data(task), tmp_path)
    torch.manual_seed(0)
    runner = Runner.from_cfg(cfg)
    runner.train()
    model = runner.model
    assert runner.iter == 1
    assert (depth(model.teacher), depth(model.student)) == DEPTHS.get(path.stem, (101, 50))
    scalars = runner.message_hub.log_scalars
    assert math.isfinite(scalars['train/loss'].current())
    distill = scalars['train/loss_distill'].current()
    assert math.isfinite(distill)
    if path.stem.startswith('kd-'):
        assert distill > 0
    loop = runner.train_loop
    if 'phases' in cfg.train_cfg:  # the learning phase's iteration ran its learner's part
        assert (tmp_path / 'search_cost.json').is_file()
        phase = loop.phase_at(0)
        assert phase.learner is not None and loop.active_phase is phase
    if type(loop).__name__ == 'PhaseTrainLoop':
        assert loop.learners['ppo'].num_pending == 1  # scored, not yet an update
    elif 'phases' in cfg.train_cfg:  # a search: its result
        result = json.loads((tmp_path / 'search_result.json').read_text())
        assert isinstance(result['levels'], list)
    if cfg.model.selector.get('levels_from'):  # a retrain: the result's levels, its cost
        assert model.selector.keep.tolist() == [0.0, 1.0, 1.0, 1.0]
        cost = json.loads((tmp_path / 'search_cost.json').read_text())
        assert cost['retrain_iterations'] == 1
    if cfg.model.get('balancer'):
        weights = model.balancer.weights
        assert torch.isfinite(weights).all() and float(weights.sum()) == pytest.approx(4)


def test_full_scale_maml_config_meta_trains_one_iteration(toy_data, tmp_path):
    """configs/maml/maml_rlpkd_coco-ade20k-in1k.py: its three full-scale tasks (the
    shrunk configs above, as each task's cfg_options), one meta-iteration of one support
    and one query step each."""
    cfg = read_config(str(MAML))
    for spec in cfg.train_cfg.tasks:
        task_cfg = read_config(config_file(spec['config']))
        task_cfg.merge_from_dict(spec.get('cfg_options', {}))
        work = tmp_path / spec['name']
        shrink(task_cfg, spec['name'], toy_data(spec['name']), work)
        spec['cfg_options'] = dict(model=task_cfg.model.to_dict(),
                                   train_dataloader=task_cfg.train_dataloader.to_dict())
    cfg.train_cfg.update(meta_iters=1, support_steps=1, query_steps=1)
    cfg.default_hooks.checkpoint = None
    cfg.update(work_dir=str(tmp_path), log_level='WARNING', randomness=dict(seed=0))
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 1 and (tmp_path / 'meta_policy.pth').is_file()
    assert [depth(t.distiller.teacher) for t in runner.train_loop.tasks] == [101] * 3
    assert math.isfinite(runner.message_hub.log_scalars['train/maml/meta_loss'].current())


# ------------------------------------------------------- tools/benchmark.py --full
def printed_runs(task: str) -> list:
    """``(config, --cfg-options)`` of every training command ``tools/benchmark.py TASK
    --full --seeds 1`` prints."""
    setup = TOY_TASKS[task]
    runs = []
    for line in full_commands(setup, methods(setup), seeds=[0]):
        if line.startswith('bash tools/dist_train.sh'):
            words = shlex.split(line)
            options = words[words.index('--cfg-options') + 1:]
            runs.append((words[2], options))
    return runs


@pytest.mark.parametrize('task', sorted(TASKS))
def test_benchmark_full_prints_every_full_scale_config_and_its_options_build(task, tmp_path):
    """Every printed command names a full-scale config of the task, together all of
    them; its options apply to the config; every model the options change builds (the
    GradNorm options: the shipped GradNorm config's shared layer, which mmdet's frozen
    layer1 is not)."""
    runs = printed_runs(task)
    printed = {ROOT / config for config, _ in runs}
    assert printed == {p for p in FULL if task_of(p) == task}
    built, read = {}, {}
    for config, options in runs:
        if config not in read:
            read[config] = read_config(str(ROOT / config))
        cfg = copy.deepcopy(read[config])
        cfg.merge_from_dict({key: DictAction._parse_iterable(value)
                             for key, value in (o.split('=', 1) for o in options)})
        assert cfg.randomness.seed == 0
        model = copy.deepcopy(cfg.model.to_dict())
        if not any(o.startswith('model.') and not o.startswith(
                ('model.selector.levels_from', 'model.selector.lambda_tradeoff'))
                for o in options):
            continue  # the config's own model: built by the test above
        model.update(teacher_ckpt=None)
        same = dict(model, selector={k: v for k, v in model['selector'].items()
                                     if k != 'lambda_tradeoff'})  # a number: one build
        key = json.dumps(same, sort_keys=True, default=str)
        if key not in built:
            built[key] = MODELS.build(model)
            balancer = model.get('balancer')
            if balancer:
                shipped = read_config(str(CONFIGS / TOY_TASKS[task].full['gradnorm']))
                assert balancer == shipped.model.balancer.to_dict()
    assert len(built) == 2  # RL-PyramidKD + GradNorm, and + independent decisions
