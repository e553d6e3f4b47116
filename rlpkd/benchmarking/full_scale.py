"""``tools/benchmark.py --full``: the multi-GPU commands that would produce the same
tables on COCO / ADE20K / ImageNet (printed, not run)."""
from __future__ import annotations

from typing import List, Sequence

from .plan import Method, TaskSetup

UPSTREAM_STUDENT = {  # the student alone: its own project's config and tool
    'det': 'mmdet: tools/dist_train.sh configs/faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
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


def _train_test(config: str, work: str, options: Sequence[str], gpus: int) -> List[str]:
    opts = f" --cfg-options {' '.join(options)}" if options else ''
    return [f'bash tools/dist_train.sh configs/{config} {gpus} --work-dir {work}{opts}',
            f'bash tools/dist_test.sh configs/{config} "$(cat {work}/last_checkpoint)" '
            f'{gpus} --work-dir {work}/test']


def full_commands(task: TaskSetup, plan: Sequence[Method], seeds: Sequence[int],
                  gpus: int = 8) -> List[str]:
    """Shell lines (comments for what has no full-scale config) for every run of ``plan``
    at full scale on ``gpus`` GPUs, then its test; a NAS method searches, then
    retrains the subset its search found."""
    lines = [f'# full-scale counterpart of "{task.title}" on {gpus} GPUs (printed, not run)']
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
        own_gradnorm = method.key == 'uniform_gradnorm' and 'gradnorm' in task.full
        options = [o for o in method.options  # a GradNorm config has its balancer
                   if not (own_gradnorm and o.startswith('model.balancer'))]
        for seed in seeds:
            work = f'work_dirs/benchmark_{task.key}_full/{method.key}/seed_{seed}'
            opts = [*options, f'randomness.seed={seed}']
            if nas:
                lines.append(f'bash tools/dist_train.sh configs/{nas[0]} {gpus} --work-dir '
                             f"{work}/search --cfg-options {' '.join(opts)}")
                opts.append(f'model.selector.levels_from={work}/search/search_result.json')
            lines += _train_test(config, work, opts, gpus)
    return lines
