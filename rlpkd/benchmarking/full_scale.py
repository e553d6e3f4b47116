"""``tools/benchmark.py --full``: the multi-GPU commands that would produce the same
tables on COCO / ADE20K / ImageNet (printed, not run), for every full-scale config of
the task."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import List, Sequence, Tuple

from .plan import CONFIGS, Method, TaskSetup

UPSTREAM_STUDENT = {  # the student alone: its own project's config and tool
    'det': 'mmdet: tools/dist_train.sh configs/faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    'ins': 'mmdet: tools/dist_train.sh configs/mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    'seg': 'mmseg: tools/dist_train.sh configs/deeplabv3plus/'
           'deeplabv3plus_r50-d8_4xb4-80k_ade20k-512x512.py',
    'cls': 'mmpretrain: tools/dist_train.sh configs/resnet/resnet50_8xb32_in1k.py',
}


def full_config(task: TaskSetup, method: Method) -> str:
    """The full-scale config of ``method``, '' when the project has none yet."""
    if method.family in ('lambda', 'ablation'):
        return task.full.get('rl', '')
    if method.key == 'uniform_gradnorm' and 'gradnorm' in task.full:
        return task.full['gradnorm']
    if method.family in ('uniform', 'gradopt'):
        return task.full.get('uniform', '')
    return ''


@lru_cache(maxsize=None)
def _balancer_options(config: str) -> Tuple[str, ...]:
    from rlpkd.apis.cli import read_config  # mm packages only when --full is printed
    balancer = read_config(str(CONFIGS / config)).model.balancer
    return tuple(f'model.balancer.{key}={value}' for key, value in balancer.items())


def shipped_gradnorm_options(task: TaskSetup) -> Tuple[str, ...]:
    """``--cfg-options`` of the balancer of the task's full-scale GradNorm config (``()``
    without one). The full-scale RL runs with GradNorm use them instead of the toy
    benchmark's: mmdet's R50 students freeze layer1 (``frozen_stages=1``), which GradNorm
    refuses as its shared layer at build, so the COCO configs share layer2."""
    config = task.full.get('gradnorm')
    return _balancer_options(config) if config else ()


#: replaces the config's ``clip_grad`` (mmseg's schedules set ``clip_grad=None``, into
#: which ``clip_grad.max_norm=...`` cannot merge)
CLIP_GRAD_REPLACE = 'optim_wrapper.clip_grad._delete_=True'


def full_options(task: TaskSetup, method: Method) -> List[str]:
    """``method``'s options at full scale: a GradNorm config keeps its own balancer; a
    method with GradNorm options gets the shipped GradNorm config's balancer; gradient
    clipping replaces the config's ``clip_grad``."""
    if method.key == 'uniform_gradnorm' and 'gradnorm' in task.full:
        return [o for o in method.options if not o.startswith('model.balancer.')]
    shipped = shipped_gradnorm_options(task)
    out: List[str] = []
    for option in method.options:
        if shipped and option.startswith('model.balancer.'):
            out += [o for o in shipped if o not in out]
        elif option.startswith('optim_wrapper.clip_grad.'):
            out += [o for o in (CLIP_GRAD_REPLACE, option) if o not in out]
        else:
            out.append(option)
    return out


def _train_test(config: str, work: str, options: Sequence[str], gpus: int) -> List[str]:
    opts = f" --cfg-options {' '.join(options)}" if options else ''
    return [f'bash tools/dist_train.sh configs/{config} {gpus} --work-dir {work}{opts}',
            f'bash tools/dist_test.sh configs/{config} "$(cat {work}/last_checkpoint)" '
            f'{gpus} --work-dir {work}/test']


def full_commands(task: TaskSetup, plan: Sequence[Method], seeds: Sequence[int],
                  gpus: int = 8, others: bool = True) -> List[str]:
    """Shell lines (comments for what has no full-scale config) for every run of ``plan``
    at full scale on ``gpus`` GPUs, then its test; a NAS method searches, then
    retrains the subset its search found. ``others``: also the task's full-scale configs
    that are no row of the tables (``task.full_other``)."""
    lines = [f'# full-scale counterpart of "{task.title}" on {gpus} GPUs (printed, not run)']
    root = f'work_dirs/benchmark_{task.key}_full'
    for method in plan:
        if method.family == 'student':
            lines.append(f'# {method.label}: upstream {UPSTREAM_STUDENT[task.key]} {gpus}')
            continue
        nas = task.full_nas.get(method.label)
        config = nas[1] if nas else full_config(task, method)
        if not config:
            lines.append(f'# {method.label}: no full-scale config yet (toy: configs/'
                         f'{method.config})')
            continue
        options = full_options(task, method)
        for seed in seeds:
            work = f'{root}/{method.key}/seed_{seed}'
            opts = [*options, f'randomness.seed={seed}']
            if nas:
                lines.append(f'bash tools/dist_train.sh configs/{nas[0]} {gpus} --work-dir '
                             f"{work}/search --cfg-options {' '.join(opts)}")
                opts.append(f'model.selector.levels_from={work}/search/search_result.json')
            lines += _train_test(config, work, opts, gpus)
    if others and task.full_other:
        lines.append('# other full-scale configs of this task (no row of the tables)')
        for config in task.full_other:
            for seed in seeds:
                work = f'{root}/{Path(config).stem}/seed_{seed}'
                lines += _train_test(config, work, [f'randomness.seed={seed}'], gpus)
    return lines
