"""EA-LS through tools/train.py (8 toy images, batch 2): candidates trained from the
warm-up state, result and cost files, resume mid-candidate, search -> retrain; the
training-state copy it restores; the loop's config checks."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.optim.scheduler import LinearLR
from nas_runs import NAS, load, options, train, train_cmd

from rlpkd.engine.loops import training_state
from rlpkd.registry import MODELS
from rlpkd.testing import kill_after_checkpoint

EA_CFG = NAS / 'ea-ls_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'
EA_RETRAIN_CFG = NAS / 'ea-ls-retrain_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'


def ea_options(data: Path) -> dict:
    """One warm-up iteration, then 3 candidates of 2 proxy iterations (P = S = 2: the
    third is a mutated child); 3 iterations an epoch, so the epoch-2 checkpoint falls
    after the first iteration of the third candidate."""
    return dict(options(data, search_iters=6), **{
        'train_cfg.proxy_iters': 2, 'train_cfg.learners.ea.population_size': 2,
        'train_cfg.learners.ea.sample_size': 2})


@pytest.fixture(scope='module')
def ea_run(nas_data, tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp('ea') / 'a'
    return dict(work=work, log=train(EA_CFG, work, ea_options(nas_data)))


def test_ea_search_writes_population_history_and_cost(ea_run):
    work = ea_run['work']
    assert 'ea/fitness' in ea_run['log'] and 'ea/best_fitness' in ea_run['log']
    result = json.loads((work / 'search_result.json').read_text())
    history = result['history']
    assert result['method'] == 'EA-LS' and len(history) == 3
    assert [m['born'] for m in result['population']] == [1, 2]  # the last P of history
    best = max(history, key=lambda m: m['fitness'])
    assert result['fitness'] == best['fitness']
    assert result['level_weights'] == {k: w for k, w in best['weights'].items() if w}
    assert result['levels'] == [k for k, w in best['weights'].items() if w]
    child = history[2]['genome']
    assert sum(a != b for a, b in zip(child, history[0]['genome'])) == 1 or \
        sum(a != b for a, b in zip(child, history[1]['genome'])) == 1  # one mutation
    cost = json.loads((work / 'search_cost.json').read_text())
    assert (cost['search_iterations'], cost['other_iterations']) == (6, 1)
    ckpt = load(work / 'epoch_2.pth')
    state = ckpt['rl_state']['learners']
    assert len(state['ea']['evolution']['history']) == 2  # mid-search
    assert state['__loop__']['warmup_state'] is not None
    genome = state['ea']['proposal']['genome']
    weights = ckpt['state_dict']['selector.candidate.weights']
    choices = result['choices']
    assert weights.tolist() == [choices[n][g] for n, g in zip(choices, genome)]


@pytest.mark.fault
def test_ea_killed_mid_candidate_resumes_as_uninterrupted(ea_run, nas_data, tmp_path):
    """kill -9 after the epoch-2 checkpoint (mid-candidate), then ``--resume``: the
    weights, the evolution state (population, history, proposal) and the result are
    those of the uninterrupted run, bit for bit."""
    work = tmp_path / 'b'
    kill_after_checkpoint(train_cmd(EA_CFG, work, ea_options(nas_data)), work, 'epoch_2.pth')
    assert not (work / 'search_result.json').exists(), 'the search ended before the kill'
    train(EA_CFG, work, ea_options(nas_data), '--resume')
    a, b = load(ea_run['work'] / 'epoch_3.pth'), load(work / 'epoch_3.pth')
    for key in a['state_dict']:
        assert torch.equal(a['state_dict'][key], b['state_dict'][key]), key
    assert a['rl_state']['learners']['ea'] == b['rl_state']['learners']['ea']
    result_a, result_b = (json.loads((w / 'search_result.json').read_text())
                          for w in (ea_run['work'], work))
    assert result_a == result_b


def test_two_process_gloo_runs_one_evolution(nas_data, tmp_path):
    """Both ranks train and score the same candidates: the held-out loss is averaged
    over ranks, so the evolutions agree and the candidate weights stay identical
    (checked after every update); rank 0 writes the result."""
    env = dict(os.environ, PYTHON=sys.executable, PORT='29521')
    log = train(EA_CFG, tmp_path / 'ddp', ea_options(nas_data), launcher=2, env=env,
                timeout=900)
    assert log.count('learnable parameters identical on 2 ranks') >= 3  # every candidate
    result = json.loads((tmp_path / 'ddp' / 'search_result.json').read_text())
    assert len(result['history']) == 3
    assert json.loads((tmp_path / 'ddp' / 'search_cost.json').read_text())['devices'] == 2


def test_retrain_config_distils_the_found_weights(ea_run):
    result_file = ea_run['work'] / 'search_result.json'
    result = json.loads(result_file.read_text())
    cfg = Config.fromfile(str(EA_RETRAIN_CFG))
    cfg.merge_from_dict({'model.selector.levels_from': str(result_file),
                         'model.teacher_ckpt': None})
    selector = MODELS.build(cfg.model).selector
    expected = [result['level_weights'].get(n, 0.0) for n in selector.level_names]
    assert selector.keep.tolist() == expected


def toy_runner() -> SimpleNamespace:
    """A runner-like object: a 'distiller' with student / teacher / selector parts, SGD
    with momentum in an OptimWrapper and a per-iteration LinearLR scheduler."""
    torch.manual_seed(0)
    model = torch.nn.ModuleDict(dict(student=torch.nn.Linear(3, 2),
                                     teacher=torch.nn.Linear(3, 2),
                                     selector=torch.nn.Linear(1, 1)))
    optimizer = torch.optim.SGD(model['student'].parameters(), lr=0.1, momentum=0.9)
    wrapper = OptimWrapper(optimizer)
    scheduler = LinearLR(optimizer, start_factor=0.1, by_epoch=False, begin=0, end=10)
    return SimpleNamespace(model=model, optim_wrapper=wrapper, param_schedulers=[scheduler])


def steps(runner: SimpleNamespace, n: int) -> torch.Tensor:
    for i in range(n):
        x = torch.arange(6.0).reshape(2, 3) + i
        runner.optim_wrapper.update_params(runner.model['student'](x).pow(2).sum())
        runner.param_schedulers[0].step()
    return runner.model['student'].weight.detach().clone()


def test_training_state_restores_model_optimiser_and_schedulers():
    runner = toy_runner()
    steps(runner, 2)
    saved = training_state.capture(runner)
    weight, lr = runner.model['student'].weight.detach().clone(), runner.optim_wrapper.get_lr()
    first = steps(runner, 3)
    with torch.no_grad():
        runner.model['teacher'].weight.add_(1.0)  # not part of the training state
    teacher = runner.model['teacher'].weight.detach().clone()
    training_state.restore(runner, saved)
    assert torch.equal(runner.model['student'].weight, weight)
    assert runner.optim_wrapper.get_lr() == lr
    assert torch.equal(runner.model['teacher'].weight, teacher)
    assert torch.equal(steps(runner, 3), first)  # momentum and schedule as before
    training_state.restore(runner, saved)  # the copy was not aliased by training
    assert torch.equal(steps(runner, 3), first)


@pytest.mark.bad_input
@pytest.mark.parametrize('option,message', [
    ({'train_cfg.phases.1.update_interval': 2}, 'update_interval=2'),
    ({'train_cfg.proxy_iters': 4}, 'not a multiple of train_cfg.proxy_iters=4'),
])
def test_bad_search_settings_fail_when_the_loop_is_built(nas_data, tmp_path, option,
                                                         message):
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    cfg = Config.fromfile(str(EA_CFG))
    cfg.merge_from_dict(dict(ea_options(nas_data), **option))
    cfg.work_dir = str(tmp_path)
    with DefaultScope.overwrite_default_scope('rlpkd'):
        runner = Runner.from_cfg(cfg)
        with pytest.raises(ValueError, match=message):
            runner.train_loop
