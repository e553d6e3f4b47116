"""Quick tests of tools/train.py, tools/test.py, tools/export_student.py and rlpkd.apis.cli.

The tools are loaded from their paths (``tools/`` is not a package). Nothing here builds a
distiller; one end-to-end test runs train.py and test.py on mmengine's toy model.
"""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import DumpResults, Evaluator
from mmengine.registry import DefaultScope

from rlpkd.apis import cli
from rlpkd.apis import export as export_api
from rlpkd.testing import load_tool

TOOLS = Path(__file__).resolve().parents[2] / 'tools'


@pytest.fixture(autouse=True)
def _no_local_rank_leak(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv('LOCAL_RANK', raising=False)


@pytest.fixture
def cfg_file(tmp_path: Path) -> Path:
    path = tmp_path / 'my_cfg.py'
    path.write_text(
        "model = dict(type='M', depth=18)\n"
        "optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01))\n"
        "auto_scale_lr = dict(enable=False, base_batch_size=16)\n"
        "test_evaluator = dict(type='Accuracy')\n")
    return path


def test_train_args_and_resume(cfg_file: Path) -> None:
    train = load_tool('train')
    args = train.parse_args([str(cfg_file)])
    assert (args.resume, args.amp, args.auto_scale_lr, args.launcher) == \
        (None, False, False, 'none')
    assert os.environ['LOCAL_RANK'] == '0'
    assert train.parse_args(['c.py', '--resume']).resume == 'auto'
    assert train.parse_args(['c.py', '--resume', 'a.pth']).resume == 'a.pth'
    assert train.parse_args(['c.py', '--local-rank', '3']).local_rank == 3
    assert train.parse_args(['c.py', '--local_rank', '2']).local_rank == 2
    with pytest.raises(SystemExit):
        train.parse_args(['c.py', '--launcher', 'bogus'])

    for resume, expected in ((None, (None, 'init.pth')), ('auto', (True, None)),
                             ('x/epoch_3.pth', (True, 'x/epoch_3.pth'))):
        cfg = Config({'load_from': 'init.pth'})
        cli.set_resume(cfg, resume)
        assert (cfg.get('resume'), cfg.load_from) == expected


def test_load_config_work_dir_and_cfg_options(cfg_file: Path) -> None:
    train = load_tool('train')
    args = train.parse_args([str(cfg_file), '--cfg-options', 'model.depth=50',
                             'optim_wrapper.optimizer.lr=0.1', '--launcher', 'pytorch'])
    cfg = cli.load_config(args.config, args.work_dir, args.cfg_options, args.launcher)
    assert cfg.model.depth == 50 and cfg.optim_wrapper.optimizer.lr == 0.1
    assert cfg.launcher == 'pytorch'
    assert Path(cfg.work_dir) == Path('work_dirs/my_cfg')
    assert cli.load_config(str(cfg_file), 'wd').work_dir == 'wd'
    in_file = cli.load_config(str(cfg_file), cfg_options={'work_dir': 'from_file'})
    assert in_file.work_dir == 'from_file'


def test_amp_and_auto_scale_lr(cfg_file: Path) -> None:
    cfg = Config.fromfile(str(cfg_file))
    for _ in range(2):  # the second call only warns: AMP is already on
        cli.enable_amp(cfg)
        assert (cfg.optim_wrapper.type, cfg.optim_wrapper.loss_scale) == \
            ('AmpOptimWrapper', 'dynamic')
    with pytest.raises(ValueError, match='OptimWrapper'):
        cli.enable_amp(Config({'optim_wrapper': {'type': 'CustomWrapper'}}))
    cli.enable_auto_scale_lr(cfg)
    assert cfg.auto_scale_lr.enable is True
    with pytest.raises(RuntimeError, match='auto_scale_lr'):
        cli.enable_auto_scale_lr(Config({'model': {'type': 'M'}}))


@pytest.mark.parametrize('evaluator', [
    {'type': 'Accuracy'},
    [{'type': 'Accuracy'}],
    {'type': 'Evaluator', 'metrics': {'type': 'Accuracy'}},
])
def test_add_dump_results(evaluator, tmp_path: Path) -> None:
    out = str(tmp_path / 'preds.pkl')
    cfg = Config({'test_evaluator': evaluator})
    cli.add_dump_results(cfg, out)
    metrics = cfg.test_evaluator.get('metrics') if 'metrics' in evaluator else cfg.test_evaluator
    assert metrics[-1] == {'type': 'mmengine.DumpResults', 'out_file_path': out}
    assert len(metrics) == 2
    with DefaultScope.overwrite_default_scope('rlpkd'):
        built = Evaluator(metrics[-1:])
    assert isinstance(built.metrics[0], DumpResults)
    with pytest.raises(ValueError, match='pkl'):
        cli.add_dump_results(cfg, 'preds.json')


def test_test_args_and_metrics(tmp_path: Path) -> None:
    test = load_tool('test')
    args = test.parse_args(['c.py', 'w.pth', '--out', 'p.pkl', '--work-dir', 'wd'])
    assert (args.config, args.checkpoint, args.out, args.work_dir) == \
        ('c.py', 'w.pth', 'p.pkl', 'wd')
    line = cli.save_metrics({'acc/top1': torch.tensor(71.5), 'n': 3}, str(tmp_path / 'wd'))
    assert json.loads(line) == {'acc/top1': 71.5, 'n': 3}
    assert json.loads((tmp_path / 'wd' / 'metrics.json').read_text()) == json.loads(line)


def fake_distill_checkpoint(path: Path, with_student: bool = True) -> None:
    state = {'teacher.backbone.w': torch.ones(2), 'connectors.0.weight': torch.ones(1)}
    if with_student:
        state.update({'student.backbone.w': torch.zeros(2), 'student.head.b': torch.ones(3)})
    torch.save({'meta': {'epoch': 3}, 'state_dict': state, 'optimizer': {}}, path)


def test_export_student(tmp_path: Path) -> None:
    export = load_tool('export_student')
    src, dst = tmp_path / 'kd.pth', tmp_path / 'out' / 'student.pth'
    fake_distill_checkpoint(src)
    export.main([str(src), str(dst)])
    ckpt = torch.load(dst, map_location='cpu')
    assert set(ckpt) == {'meta', 'state_dict'}
    assert list(ckpt['state_dict']) == ['backbone.w', 'head.b']
    assert torch.equal(ckpt['state_dict']['head.b'], torch.ones(3))
    assert ckpt['meta'] == {'epoch': 3, 'exported_from': str(src)}

    bad = tmp_path / 'plain.pth'
    fake_distill_checkpoint(bad, with_student=False)
    with pytest.raises(KeyError, match='plain.pth'):
        export_api.export_checkpoint(str(bad), str(tmp_path / 'never.pth'))


MMDET_R18 = "dict(cfg_path='mmdet::retinanet/retinanet_r18_fpn_1x_coco.py', " \
    "override=dict(bbox_head=dict(num_classes=3)))"


@pytest.mark.parametrize('student', [MMDET_R18, "dict(type='RetinaNet', _scope_='mmdet')"])
def test_export_student_config(student: str, tmp_path: Path) -> None:
    export = load_tool('export_student')
    distill, out = tmp_path / 'kd.py', tmp_path / 'student_cfg.py'
    distill.write_text(
        "custom_imports = dict(imports=['rlpkd'], allow_failed_imports=False)\n"
        "default_scope = 'rlpkd'\ntrain_cfg = dict(max_epochs=12)\n"
        f"model = dict(type='PyramidDistiller', student={student}, teacher=dict(type='T'))\n")
    src, dst = tmp_path / 'kd.pth', tmp_path / 'student.pth'
    fake_distill_checkpoint(src)
    export.main([str(src), str(dst), '--config', str(distill), '--out-config', str(out)])
    cfg = Config.fromfile(str(out))
    assert cfg.model.type == 'RetinaNet' and 'teacher' not in cfg.model
    assert 'custom_imports' not in cfg
    assert cfg.default_scope == 'mmdet' and cfg.train_cfg.max_epochs == 12
    if student == MMDET_R18:
        assert cfg.model.backbone.depth == 18 and cfg.model.bbox_head.num_classes == 3

    kept = Config.fromfile(str(distill))
    kept.custom_imports = {'imports': ['rlpkd', 'json']}
    kept.dump(str(distill))
    assert export_api.student_config(str(distill)).custom_imports.imports == ['json']
    with pytest.raises(SystemExit):
        export.parse_args([str(src), str(dst), '--config', str(distill)])


RL_PARTS = """
train_cfg = dict(type='PhaseTrainLoop', val_interval=5, learners=dict(ppo=dict(
    type='rlpkd.PPOLearner')), phases=[dict(name='a', epochs=2), dict(name='b', epochs=3)])
custom_hooks = [dict(type='PolicyStatsHook'), dict(type='EMAHook')]
default_hooks = dict(logger=dict(type='LoggerHook'), rl=dict(type='rlpkd.PolicyStatsHook'))
val_evaluator = [dict(type='Accuracy', _scope_='mmpretrain'),
                 dict(type='DumpResults', out_file_path='a.pkl')]
test_evaluator = [dict(type='Accuracy'), dict(type='LevelSelectionMetric', _scope_='rlpkd')]
rl_selector = dict(type='rlpkd.RLSelector')
"""


def test_export_strips_every_rlpkd_entry(tmp_path: Path) -> None:
    """Wherever it sits and however it is named (`rlpkd.X`, a plain name in scope
    rlpkd, `_scope_='rlpkd'`), nothing of rlpkd is left; the phase loop becomes a plain
    loop of the same length; lists keep the student's own entries."""
    distill = tmp_path / 'kd.py'
    head = ("custom_imports = dict(imports=['rlpkd.models', 'json'])\n"
            "default_scope = 'rlpkd'\n"
            "model = dict(type='PyramidDistiller', student=dict(type='ImageClassifier', "
            "_scope_='mmpretrain'), teacher=dict(type='T'))\n")
    distill.write_text(head + RL_PARTS)
    cfg = export_api.student_config(str(distill))
    assert cfg.default_scope == 'mmpretrain' and cfg.custom_imports.imports == ['json']
    assert cfg.train_cfg == dict(type='EpochBasedTrainLoop', max_epochs=5, val_interval=5)
    assert cfg.custom_hooks == [dict(type='EMAHook')]
    assert cfg.default_hooks == dict(logger=dict(type='LoggerHook'))
    assert cfg.test_evaluator == dict(type='Accuracy')  # as the student's own configs
    assert len(cfg.val_evaluator) == 2  # untouched: nothing of rlpkd in it
    assert 'rl_selector' not in cfg and 'rlpkd' not in cfg.pretty_text

    # outside scope rlpkd a plain name is not rlpkd's
    distill.write_text(head.replace("'rlpkd'", "'mmpretrain'") + RL_PARTS)
    assert export_api.student_config(str(distill)).custom_hooks == [
        dict(type='PolicyStatsHook'), dict(type='EMAHook')]

    # an epoch loop with a phase counted in iterations has no plain loop of the same length
    distill.write_text(head + RL_PARTS.replace("epochs=3", "iters=30"))
    with pytest.raises(ValueError, match="phase\\(s\\) \\['b'\\] are given in `iters`"):
        export_api.student_config(str(distill))
    # an iteration-based one is an IterBasedTrainLoop of its total length
    distill.write_text(head + RL_PARTS.replace("epochs=", "iters=").replace(
        "val_interval=5", "val_interval=5, iter_based=True"))
    assert export_api.student_config(str(distill)).train_cfg == dict(
        type='IterBasedTrainLoop', max_iters=5, val_interval=5)


TOY_MODS = """from mmengine.registry import DATASETS, METRICS, MODELS
from mmengine.testing.runner_test_case import ToyDataset, ToyMetric, ToyModel
for reg, mod in ((MODELS, ToyModel), (METRICS, ToyMetric), (DATASETS, ToyDataset)):
    reg.register_module(module=mod, force=True)
"""
TOY_CFG = """custom_imports = dict(imports=['toy_mods'], allow_failed_imports=False)
model = dict(type='ToyModel')
train_dataloader = val_dataloader = test_dataloader = dict(
    dataset=dict(type='ToyDataset'), sampler=dict(type='DefaultSampler', shuffle=False),
    batch_size=3, num_workers=0)
val_evaluator = test_evaluator = dict(type='ToyMetric')
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))
train_cfg = dict(by_epoch=True, max_epochs=1)
val_cfg = test_cfg = dict()
"""


def test_train_then_test_end_to_end(tmp_path: Path) -> None:
    """tools/train.py and tools/test.py on mmengine's toy model, in a fresh process each."""
    (tmp_path / 'toy_mods.py').write_text(TOY_MODS)
    (tmp_path / 'toy.py').write_text(TOY_CFG)
    env = {**os.environ, 'PYTHONPATH': str(tmp_path)}

    def run(*argv: str) -> str:
        proc = subprocess.run([sys.executable, *argv], cwd=tmp_path, env=env, text=True,
                              capture_output=True, check=False, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    run(str(TOOLS / 'train.py'), 'toy.py')
    assert (tmp_path / 'work_dirs' / 'toy' / 'epoch_1.pth').is_file()
    out = run(str(TOOLS / 'test.py'), 'toy.py', 'work_dirs/toy/epoch_1.pth',
              '--work-dir', 'wd', '--out', 'preds.pkl')
    line = next(x for x in out.splitlines() if x.startswith('metrics: '))
    assert json.loads(line[len('metrics: '):]) == {'acc': 1}
    assert json.loads((tmp_path / 'wd' / 'metrics.json').read_text()) == {'acc': 1}
    with open(tmp_path / 'preds.pkl', 'rb') as f:
        assert len(pickle.load(f)) == 12
