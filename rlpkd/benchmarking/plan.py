"""What ``tools/benchmark.py`` runs for one task: its models, data and methods.

A :class:`TaskSetup` names the toy configs of a task (teacher, student alone, uniform
KD, RL-PyramidKD, the NAS searches and their retrain configs) and how to point them at
the benchmark's data; :func:`methods` lists every method of the write-up's tables as a
:class:`Method` (config + ``--cfg-options``), each trained with every seed. Methods
that differ only in options are distinct runs; a table row that needs the same run
twice (the λ sweep's λ = 0.5 *is* the full method) refers to it by key.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
LAMBDAS = (0.0, 0.25, 0.5, 1.0)  # the λ sweep; 0.5 is the configs' (and seed's) value
FULL_LAMBDA = 0.5


@dataclass(frozen=True)
class Method:
    """One method of the benchmark, trained once per seed.

    Args:
        key: short name; the run directory is ``<work-dir>/<key>/seed_<s>``.
        label: row label of the tables.
        family: ``student`` / ``uniform`` / ``gradopt`` / ``nas`` / ``lambda`` (RL runs of
            the λ sweep, the full method included) / ``ablation`` (RL variants) /
            ``fixed`` (a hand-picked fixed subset).
        config: config trained (NAS: the search config), relative to ``configs/``.
        options: ``--cfg-options`` on top of the data / teacher / seed options.
        retrain: NAS only: the retrain config, given ``model.selector.levels_from``.
        lam: λ of an RL run of the sweep.
        imports: modules the run's config imports besides ``rlpkd`` (``custom_imports``),
            e.g. ``('rlpkd.benchmarking.parts',)`` for benchmark-only components.
    """

    key: str
    label: str
    family: str
    config: str
    options: Tuple[str, ...] = ()
    retrain: Optional[str] = None
    lam: Optional[float] = None
    imports: Tuple[str, ...] = ()

    @property
    def learned(self) -> bool:
        """An RL-PyramidKD run: its ``test_evaluator`` is ``[task metric,
        LevelSelectionMetric]``."""
        return self.family in ('lambda', 'ablation')

    @property
    def distilled(self) -> bool:
        return self.family != 'student'


@dataclass(frozen=True)
class TaskSetup:
    """The toy configs of one task and the options that point them at the data.

    ``metrics``: (key in the test's ``metrics.json``, column label); the first is the
    task's main metric. ``clip_grad``: ``max_norm`` of the "gradient clipping" row.
    ``gradnorm_param``: GradNorm's shared layer (the student's first stage).
    ``full`` / ``full_nas``: the full-scale configs (``uniform``, ``gradnorm``, ``rl``;
    NAS method -> (search, retrain)) that ``tools/benchmark.py --full`` prints;
    ``full_other``: the task's other full-scale configs (no row of the tables), printed
    after them.
    ``data_root``: the toy data's default root (``tools/demo.py``); ``train_files``: the
    glob under it of the files the teacher trains on (the teacher cache hashes them,
    :mod:`rlpkd.benchmarking.teacher`).
    """

    key: str
    title: str
    data_cmd: str
    teacher: str
    student: str
    uniform: str
    rl: str
    nas: Dict[str, Tuple[str, str]]
    metrics: Tuple[Tuple[str, str], ...]
    levels: Tuple[str, ...]
    groups_file: str
    clip_grad: float
    gradnorm_param: str = 'student.backbone.layer1'
    coco: bool = False
    data_root: str = ''
    train_files: str = ''
    full: Dict[str, str] = field(default_factory=dict)
    full_nas: Dict[str, Tuple[str, str]] = field(default_factory=dict)
    full_other: Tuple[str, ...] = ()

    @property
    def main_metric(self) -> str:
        return self.metrics[0][0]

    def path(self, config: str) -> Path:
        return CONFIGS / config

    def data_options(self, data: Path, learned: bool = False) -> List[str]:
        """Options pointing a config of this task at ``data``; ``learned``: the config
        of a learned selector, whose ``test_evaluator`` is ``[task metric,
        LevelSelectionMetric]``."""
        opts = [f'{loader}.dataset.data_root={data}/'
                for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
        if self.coco:
            ann = f'{data}/annotations/instances_val.json'
            opts += [f'val_evaluator.ann_file={ann}',
                     f"test_evaluator{'.0' if learned else ''}.ann_file={ann}"]
        if learned:
            opts.append(f'test_evaluator.1.group_file={data}/{self.groups_file}')
        return opts

    @staticmethod
    def search_options(data: Path) -> List[str]:
        """Options pointing a NAS search config's held-out loader at ``data``."""
        return [f'train_cfg.arch_dataloader.dataset.data_root={data}/']

    def gradnorm_options(self) -> Tuple[str, ...]:
        """GradNorm (alpha 1.5, lr 1e-2, as the seed) on the student's first stage."""
        return ('model.balancer.type=rlpkd.GradNormBalancer', 'model.balancer.alpha=1.5',
                'model.balancer.lr=0.01', f'model.balancer.shared_param={self.gradnorm_param}')


#: ``--cfg-options`` that turn an RL-PyramidKD config into its schedule control: the
#: policy and joint phases (1, 2) distil every level and update no learner
SCHEDULE_CONTROL = tuple(f'train_cfg.phases.{i}.{key}' for i in (1, 2)
                         for key in ('mode=uniform', 'learner=None'))

def sweep_key(lam: float) -> str:
    """Method key of the λ sweep's run with ``lam`` (``'rl'``: the full method)."""
    return 'rl' if lam == FULL_LAMBDA else f'rl_lambda{lam:g}'


def methods(task: TaskSetup) -> List[Method]:
    """Every method of the tables, in table order (see the module docstring)."""
    gradnorm = task.gradnorm_options()
    # a task with full-scale NAS configs only (instance segmentation): rows for --full
    nas = task.nas or {name: ('', '') for name in task.full_nas}
    found = [Method(name.lower(), name, 'nas', search, retrain=retrain or None)
             for name, (search, retrain) in nas.items()]
    sweep = [Method(sweep_key(lam),
                    'RL-PyramidKD (full)' if lam == FULL_LAMBDA else f'RL-PyramidKD λ = {lam:g}',
                    'lambda', task.rl, (*gradnorm, f'model.selector.lambda_tradeoff={lam}'),
                    lam=lam) for lam in LAMBDAS]
    return [
        Method('student', 'student alone', 'student', task.student),
        Method('uniform', 'uniform KD', 'uniform', task.uniform),
        Method('uniform_clip', f'uniform KD + gradient clipping (max_norm {task.clip_grad:g})',
               'gradopt', task.uniform, (f'optim_wrapper.clip_grad.max_norm={task.clip_grad}',
                                         'optim_wrapper.clip_grad.norm_type=2')),
        Method('uniform_gradnorm', 'uniform KD + GradNorm', 'gradopt', task.uniform, gradnorm),
        *found,
        *sweep,
        Method('rl_independent', 'RL w/o sequential (independent decisions)', 'ablation',
               task.rl, (*gradnorm, 'model.selector.policy.use_lstm=False')),
        Method('rl_no_gradnorm', 'RL w/o GradNorm', 'ablation', task.rl),
        # control: the RL run's schedule (backbone frozen in phase 2) and GradNorm, every
        # level in every phase, no policy: what the schedule alone costs or gives
        Method('rl_schedule_uniform', "uniform KD on RL's phase schedule (control)",
               'ablation', task.rl, (*gradnorm, *SCHEDULE_CONTROL)),
    ]


def select(all_methods: Sequence[Method], only: Optional[Sequence[str]]) -> List[Method]:
    """The methods named in ``only`` (keys or families), all when None.

    Raises:
        ValueError: a name in ``only`` is neither a method key nor a family.
    """
    if not only:
        return list(all_methods)
    known = {m.key for m in all_methods} | {m.family for m in all_methods}
    unknown = sorted(set(only) - known)
    if unknown:
        raise ValueError(f'--only: unknown {unknown}; methods: '
                         f'{[m.key for m in all_methods]}, families: '
                         f'{sorted({m.family for m in all_methods})}, or meta (the '
                         'meta-learning table)')
    return [m for m in all_methods if m.key in only or m.family in only]


def _nas(model: str, retrain_model: str = '') -> Dict[str, Tuple[str, str]]:
    return {name: (f'nas/{name.lower()}_{model}.py',
                   f'nas/{name.lower()}-retrain_{retrain_model or model}.py')
            for name in ('DARTS-LS', 'GDAS-LS', 'EA-LS')}


DET_MODEL = 'faster-rcnn_r18w32-r18w16_fpn_toy-coco'
CLS_MODEL = 'resnet18w32-resnet18w16_toy-folder'
SEG_MODEL = 'deeplabv3plus_r18w32-r18w16-d8_toy-ade'
SEG_FULL = 'deeplabv3plus_r101-r50-d8_4xb4-80k_ade20k-512x512'
CLS_FULL = 'resnet101-resnet50_8xb32_in1k'
TASKS: Dict[str, TaskSetup] = {
    'det': TaskSetup(
        'det', 'Detection: Faster R-CNN R18-w32 FPN128 -> R18-w16 FPN64, toy COCO', 'det',
        'faster_rcnn/faster-rcnn_r18-w32_fpn_toy-coco.py',
        'faster_rcnn/faster-rcnn_r18-w16_fpn_toy-coco.py',
        f'faster_rcnn/kd-uniform_{DET_MODEL}.py', f'faster_rcnn/rlpkd_{DET_MODEL}.py',
        _nas(DET_MODEL),
        (('coco/bbox_mAP', 'mAP'), ('coco/bbox_mAP_50', 'AP50'), ('coco/bbox_mAP_75', 'AP75'),
         ('coco/bbox_mAP_s', 'AP_s'), ('coco/bbox_mAP_m', 'AP_m'), ('coco/bbox_mAP_l', 'AP_l')),
        ('P2', 'P3', 'P4', 'P5'), 'annotations/instances_val.json', clip_grad=3.0, coco=True,
        data_root='data/toy_coco', train_files='annotations/instances_train.json',
        full=dict(uniform='faster_rcnn/kd-uniform_faster-rcnn_r101-r50_fpn_1x_coco.py',
                  gradnorm='faster_rcnn/kd-gradnorm_faster-rcnn_r101-r50_fpn_1x_coco.py',
                  rl='faster_rcnn/rlpkd_faster-rcnn_r101-r50_fpn_40e_coco.py'),
        full_nas=_nas('faster-rcnn_r101-r50_fpn_coco', 'faster-rcnn_r101-r50_fpn_1x_coco')),
    'seg': TaskSetup(
        'seg', 'Segmentation: DeepLabV3+ R18-w32-D8 -> R18-w16-D8, toy ADE20K', 'seg',
        'deeplabv3plus/deeplabv3plus_r18-w32-d8_toy-ade.py',
        'deeplabv3plus/deeplabv3plus_r18-w16-d8_toy-ade.py',
        f'deeplabv3plus/kd-uniform_{SEG_MODEL}.py', f'deeplabv3plus/rlpkd_{SEG_MODEL}.py',
        _nas(SEG_MODEL), (('mIoU', 'mIoU'), ('aAcc', 'aAcc'), ('mAcc', 'mAcc')),
        ('res2', 'res3', 'res4', 'res5'), 'size_groups.json', clip_grad=3.0,
        data_root='data/toy_ade', train_files='annotations/training/*.png',
        full=dict(uniform=f'deeplabv3plus/kd-uniform_{SEG_FULL}.py',
                  gradnorm=f'deeplabv3plus/kd-gradnorm_{SEG_FULL}.py',
                  rl=f'deeplabv3plus/rlpkd_{SEG_FULL}.py'),
        full_nas=_nas(SEG_FULL.replace('-80k', ''), SEG_FULL),
        full_other=('deeplabv3plus/kd-uniform_deeplabv3plus_r101-r18-d8_4xb4-80k_'
                    'ade20k-512x512.py', )),
    'cls': TaskSetup(
        'cls', 'Classification: ResNet-18 w32 -> w16, toy ImageNet-style folder', 'cls',
        'resnet/resnet18-w32_toy-folder.py', 'resnet/resnet18-w16_toy-folder.py',
        f'resnet/kd-uniform_{CLS_MODEL}.py', f'resnet/rlpkd_{CLS_MODEL}.py',
        _nas(CLS_MODEL), (('accuracy/top1', 'top-1'), ),
        # uniform KD's gradient norm: 13 at the start, median 5.5 later (10-iteration means)
        ('res2', 'res3', 'res4', 'res5'), 'size_groups.json', clip_grad=5.0,
        data_root='data/toy_folder', train_files='train/*/*.png',
        full=dict(uniform=f'resnet/kd-uniform_{CLS_FULL}.py',
                  gradnorm=f'resnet/kd-gradnorm_{CLS_FULL}.py',
                  rl=f'resnet/rlpkd_{CLS_FULL}.py'),
        full_nas=_nas(CLS_FULL)),
}

INS_MODEL = 'mask-rcnn_r18w32-r18w16_fpn_toy-coco'
#: the benchmark's tasks and Mask R-CNN (toy instance segmentation on the detection data,
#: which has no toy NAS configs): the tasks of ``tools/demo.py``; ``tools/benchmark.py
#: ins --full`` prints Mask R-CNN's full-scale commands
TOY_TASKS: Dict[str, TaskSetup] = {**TASKS, 'ins': TaskSetup(
    'ins', 'Instance segmentation: Mask R-CNN R18-w32 FPN128 -> R18-w16 FPN64, toy COCO',
    'det', 'mask_rcnn/mask-rcnn_r18-w32_fpn_toy-coco.py',
    'mask_rcnn/mask-rcnn_r18-w16_fpn_toy-coco.py', f'mask_rcnn/kd-uniform_{INS_MODEL}.py',
    f'mask_rcnn/rlpkd_{INS_MODEL}.py', {},
    (('coco/segm_mAP', 'mask mAP'), ('coco/bbox_mAP', 'bbox mAP')), ('P2', 'P3', 'P4', 'P5'),
    'annotations/instances_val.json', clip_grad=3.0, coco=True, data_root='data/toy_coco',
    train_files='annotations/instances_train.json',
    full=dict(uniform='mask_rcnn/kd-uniform_mask-rcnn_r101-r50_fpn_1x_coco.py',
              gradnorm='mask_rcnn/kd-gradnorm_mask-rcnn_r101-r50_fpn_1x_coco.py',
              rl='mask_rcnn/rlpkd_mask-rcnn_r101-r50_fpn_40e_coco.py'),
    full_nas=_nas('mask-rcnn_r101-r50_fpn_coco', 'mask-rcnn_r101-r50_fpn_1x_coco'))}
