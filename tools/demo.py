"""The README's main job: uniform pyramid KD on toy data, end to end, on CPU.

For each task of ``--tasks`` (default: ``det``; ``--tasks det ins seg cls`` for all four):

* ``det``: Faster R-CNN R18-w32 FPN128 -> R18-w16 FPN64 on toy COCO (COCO bbox mAP);
* ``ins``: Mask R-CNN R18-w32 FPN128 -> R18-w16 FPN64 on the same toy COCO data, whose
  annotations carry exact instance masks (COCO mask and bbox mAP);
* ``seg``: DeepLabV3+ dilated R18-w32 -> R18-w16 on toy ADE20K (mIoU / aAcc);
* ``cls``: ResNet-18 w32 -> w16 on a toy ImageNet-style folder (top-1);

1. generate the toy data (deterministic) with ``tools/make_toy_data.py``;
2. train the toy teacher, or reuse the one cached for the same configs and data;
3. train the student alone (baseline) and with uniform pyramid KD, same schedule;
4. evaluate all three with the task's metric via ``tools/test.py``; check that the
   exported student checkpoint reproduces the distilled model's metrics;
5. where the task has an RL-PyramidKD config (every task), train it (phases 1-3) on the
   same data and report its metric, the fraction of the distillation cost its policy
   spends and how often it keeps each level;
6. print one table per task and write them to ``<work-dir>/results.md`` / ``results.json``.

Every step runs the same ``tools/*.py`` a user runs, its output in a log file under
``--work-dir``; the terminal shows one progress line (step k of n, the running training's
epoch / iteration and ETA, the demo's ETA). Numbers are toy-scale CPU numbers.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from mmengine.config import Config

try:  # rlpkd installed (tools/setup_env.sh installs it in editable mode)
    import rlpkd
except ImportError:  # run from a checkout without ``pip install``
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import rlpkd  # noqa: F401

from rlpkd.benchmarking import PlanProgress, ToolError, run_tool

ROOT = Path(__file__).resolve().parents[1]
CFG = ROOT / 'configs'

STEPS_PER_TASK = 11  # data, teacher, student, KD, RL, export, 5 tests


@dataclass(frozen=True)
class Task:
    """What the demo needs to know about one task."""

    key: str                      # --tasks name (and make_toy_data.py subcommand)
    title: str
    teacher_cfg: Path
    student_cfg: Path
    distill_cfg: Path
    names: tuple[str, str, str]   # row labels: teacher, student alone, distilled
    metrics: tuple[tuple[str, str], ...]   # (key in metrics.json, column label)
    data: str                     # default data root
    train_files: str              # glob under the data root that the teacher cache hashes
    setting: str                  # data / schedule, for the table's caption
    levels: tuple[str, ...] = ('res2', 'res3', 'res4', 'res5')
    rl_cfg: Path | None = None    # RL-PyramidKD config (its test_evaluator is a list)
    groups_file: str = 'size_groups.json'  # per-image size group, under the data root
    data_cmd: str = ''            # make_toy_data.py subcommand when it is not ``key``

    @property
    def maker(self) -> str:
        """The ``tools/make_toy_data.py`` subcommand that writes this task's data."""
        return self.data_cmd or self.key

    def data_options(self, data: Path) -> tuple[str, ...]:
        opts = tuple(f'{loader}.dataset.data_root={data}/'
                     for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'))
        if self.maker == 'det':  # COCO data: CocoMetric reads the val annotations itself
            ann = f'{data}/annotations/instances_val.json'
            opts += (f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}')
        return opts


DET, INS = CFG / 'faster_rcnn', CFG / 'mask_rcnn'
SEG, CLS = CFG / 'deeplabv3plus', CFG / 'resnet'
TASKS = {
    'det': Task('det', 'Detection: Faster R-CNN, FPN levels P2-P5',
                DET / 'faster-rcnn_r18-w32_fpn_toy-coco.py',
                DET / 'faster-rcnn_r18-w16_fpn_toy-coco.py',
                DET / 'kd-uniform_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py',
                ('teacher R18-w32 FPN128', 'student R18-w16 FPN64, alone',
                 'student, uniform pyramid KD'),
                tuple((f'coco/{k}', label) for k, label in (
                    ('bbox_mAP', 'mAP'), ('bbox_mAP_50', 'AP50'), ('bbox_mAP_s', 'AP_s'),
                    ('bbox_mAP_m', 'AP_m'), ('bbox_mAP_l', 'AP_l'))),
                'data/toy_coco', 'annotations/instances_train.json',
                '240 train / 60 val 128x128 images, 12 epochs; COCO bbox metrics on val. '
                '"distill cost": fraction of the all-level distillation FLOPs the '
                'deterministic policy spends on the val images; "kept": how often it keeps '
                'each level; "subsets": distinct level subsets it uses; "MI": mutual '
                'information between its decisions and the image\'s size group',
                ('P2', 'P3', 'P4', 'P5'),
                DET / 'rlpkd_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py',
                'annotations/instances_val.json'),
    'ins': Task('ins', 'Instance segmentation: Mask R-CNN, FPN levels P2-P5',
                INS / 'mask-rcnn_r18-w32_fpn_toy-coco.py',
                INS / 'mask-rcnn_r18-w16_fpn_toy-coco.py',
                INS / 'kd-uniform_mask-rcnn_r18w32-r18w16_fpn_toy-coco.py',
                ('teacher R18-w32 FPN128', 'student R18-w16 FPN64, alone',
                 'student, uniform pyramid KD'),
                tuple((f'coco/{k}', label) for k, label in (
                    ('segm_mAP', 'mask mAP'), ('segm_mAP_50', 'mask AP50'),
                    ('segm_mAP_s', 'mask AP_s'), ('segm_mAP_m', 'mask AP_m'),
                    ('segm_mAP_l', 'mask AP_l'), ('bbox_mAP', 'bbox mAP'),
                    ('bbox_mAP_50', 'bbox AP50'))),
                'data/toy_coco', 'annotations/instances_train.json',
                'the detection toy data with its exact instance masks, 240 train / 60 val '
                '128x128 images, 8 epochs (RL-PyramidKD: 3 warm-up / 2 policy / 3 joint); '
                'COCO segm (mask) and bbox metrics on val; "distill cost" / "kept" / '
                '"subsets" / "MI" as for detection',
                ('P2', 'P3', 'P4', 'P5'),
                INS / 'rlpkd_mask-rcnn_r18w32-r18w16_fpn_toy-coco.py',
                'annotations/instances_val.json', data_cmd='det'),
    'seg': Task('seg', 'Segmentation: DeepLabV3+ (dilated, res3-res5 at stride 8), '
                'backbone levels res2-res5',
                SEG / 'deeplabv3plus_r18-w32-d8_toy-ade.py',
                SEG / 'deeplabv3plus_r18-w16-d8_toy-ade.py',
                SEG / 'kd-uniform_deeplabv3plus_r18w32-r18w16-d8_toy-ade.py',
                ('teacher R18-w32-D8', 'student R18-w16-D8, alone',
                 'student, uniform pyramid KD'),
                (('mIoU', 'mIoU'), ('aAcc', 'aAcc'), ('mAcc', 'mAcc')),
                'data/toy_ade', 'annotations/training/*.png',
                '600 train / 90 val 64x64 images, 12 epochs; mmseg IoUMetric (%) on val; '
                '"distill cost" / "kept" as for detection',
                rl_cfg=SEG / 'rlpkd_deeplabv3plus_r18w32-r18w16-d8_toy-ade.py'),
    'cls': Task('cls', 'Classification: ResNet-18, backbone levels res2-res5',
                CLS / 'resnet18-w32_toy-folder.py',
                CLS / 'resnet18-w16_toy-folder.py',
                CLS / 'kd-uniform_resnet18w32-resnet18w16_toy-folder.py',
                ('teacher R18-w32', 'student R18-w16, alone', 'student, uniform pyramid KD'),
                (('accuracy/top1', 'top-1'),),
                'data/toy_folder', 'train/*/*.png',
                '1800 train / 300 val 64x64 images, 6 epochs; mmpretrain Accuracy (%) on val; '
                '"distill cost" / "kept" as for detection',
                rl_cfg=CLS / 'rlpkd_resnet18w32-resnet18w16_toy-folder.py'),
}


def run(progress: PlanProgress, tool: str, *args: str, log: Path) -> float:
    """Run ``tools/<tool>`` as one step of ``progress``; return its wall time (s).
    The step's log (the tool's whole output) is ``log``; exits on failure."""
    progress.start(f'{tool} {Path(args[0]).name} (log: {log.name})')
    try:
        seconds = run_tool(tool, args, log, progress.status)
    except ToolError as err:
        sys.exit(str(err))
    progress.finish('ok')
    return seconds


def train(progress: PlanProgress, cfg: Path, work_dir: Path,
          *options: str) -> tuple[Path, float]:
    """Train ``cfg``; return the last checkpoint and the wall time."""
    extra = ['--cfg-options', *options] if options else []
    seconds = run(progress, 'train.py', str(cfg), '--work-dir', str(work_dir), *extra,
                  log=work_dir.with_suffix('.train.log'))
    return Path((work_dir / 'last_checkpoint').read_text().strip()), seconds


def test(progress: PlanProgress, task: Task, cfg: Path, ckpt: Path, work_dir: Path,
         *options: str) -> dict:
    extra = ['--cfg-options', *options] if options else []
    run(progress, 'test.py', str(cfg), str(ckpt), '--work-dir', str(work_dir), *extra,
        log=work_dir.with_suffix('.test.log'))
    metrics = json.loads((work_dir / 'metrics.json').read_text())
    out = {label: metrics[key] for key, label in task.metrics}
    if 'selection/cost_fraction' in metrics:  # a learned selector's test-time decisions
        out['cost'] = metrics['selection/cost_fraction']
        out['rates'] = [metrics[f'selection/rate_{n}'] for n in task.levels]
        out['subsets'] = metrics['selection/distinct_subsets']
        out['mi'] = metrics.get('selection/group_mi')
    return out


def num_params(cfg: Path) -> float:
    """Parameters (millions) of the model a plain mm config builds."""
    from rlpkd.models.utils import build_mm_model
    model = build_mm_model(dict(cfg_path=str(cfg)))
    return sum(p.numel() for p in model.parameters()) / 1e6


def cached_teacher(progress: PlanProgress, task: Task, work_dir: Path, cache: Path,
                   data: Path, *options: str) -> tuple[Path, float | None]:
    """Train the teacher unless a checkpoint for this teacher config (resolved, with its
    bases and ``options``) and these data files is cached."""
    key = hashlib.sha1(Config.fromfile(task.teacher_cfg).pretty_text.encode())
    key.update('\n'.join(map(str, options)).encode())
    for path in sorted(data.glob(task.train_files)):
        key.update(path.read_bytes())
    prefix = 'toy-teacher' if task.key == 'det' else f'toy-teacher-{task.key}'
    cached = cache / f'{prefix}-{key.hexdigest()[:12]}.pth'
    if cached.exists():
        progress.start(f'teacher: reusing {cached}')
        progress.finish('cached', executed=False)
        return cached, None
    ckpt, seconds = train(progress, task.teacher_cfg, work_dir / 'teacher', *options)
    cache.mkdir(parents=True, exist_ok=True)
    shutil.copy(ckpt, cached)
    return cached, seconds


def table(task: Task, rows: list[dict]) -> str:
    """Markdown table; the cost / kept columns only for a task with a learned selector."""
    labels = [label for _, label in task.metrics]
    rl = task.rl_cfg is not None
    cols = ['model', 'params (M)', 'train (s)']
    cols += ['distill cost', ' / '.join(task.levels) + ' kept', 'subsets',
             'MI (bits)'] if rl else []
    head = '| ' + ' | '.join(cols + labels) + ' |\n' + '|---' * (len(cols) + len(labels))
    lines = []
    for r in rows:
        train_s = 'cached' if r['train_s'] is None else f"{r['train_s']:.0f}"
        digits = 3 if task.maker == 'det' else 2
        cells = [r['name'], f"{r['params_m']:.2f}", train_s]
        if rl:
            cells.append('–' if r.get('cost') is None else f"{r['cost']:.3f}")
            cells.append(' / '.join(f'{v:.2f}' for v in r['rates']) if r.get('rates') else '–')
            cells.append(f"{r['subsets']:.0f}" if r.get('subsets') is not None else '–')
            cells.append(f"{r['mi']:.3f}" if r.get('mi') is not None else '–')
        cells += [f'{r[k]:.{digits}f}' for k in labels]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return head + '|\n' + '\n'.join(lines) + '\n'


def run_task(progress: PlanProgress, task: Task, work_dir: Path, data: Path,
             cache: Path) -> list[dict]:
    """Steps 1-5 for one task; return its rows (teacher, student alone, KD[, RL])."""
    work_dir.mkdir(parents=True, exist_ok=True)
    run(progress, 'make_toy_data.py', task.maker, '--out', str(data),
        log=work_dir / 'data.log')
    data_opts = task.data_options(data)
    teacher_ckpt, teacher_s = cached_teacher(progress, task, work_dir, cache, data,
                                             *data_opts)
    student_ckpt, student_s = train(progress, task.student_cfg, work_dir / 'student',
                                    *data_opts)
    distill_ckpt, distill_s = train(progress, task.distill_cfg, work_dir / 'distill',
                                    *data_opts, f'model.teacher_ckpt={teacher_ckpt}')
    rl_opts = [o.replace('test_evaluator.', 'test_evaluator.0.') for o in data_opts]
    rl_opts.append(f'test_evaluator.1.group_file={data}/{task.groups_file}')
    if task.rl_cfg is not None:
        rl_ckpt, rl_s = train(progress, task.rl_cfg, work_dir / 'rlpkd', *rl_opts,
                              f'model.teacher_ckpt={teacher_ckpt}')
    exported = work_dir / 'distilled_student.pth'
    run(progress, 'export_student.py', str(distill_ckpt), str(exported),
        log=work_dir / 'export.log')
    rows = [dict(task=task.key, name=task.names[0], cfg=task.teacher_cfg, ckpt=teacher_ckpt,
                 train_s=teacher_s),
            dict(task=task.key, name=task.names[1], cfg=task.student_cfg, ckpt=student_ckpt,
                 train_s=student_s),
            dict(task=task.key, name=task.names[2], cfg=task.distill_cfg, ckpt=distill_ckpt,
                 train_s=distill_s, cost=1.0)]
    if task.rl_cfg is not None:
        rows.append(dict(task=task.key, name='student, RL-PyramidKD (λ = 0.5)',
                         cfg=task.rl_cfg, ckpt=rl_ckpt, train_s=rl_s))
    for row in rows:
        distiller = row['cfg'] in (task.distill_cfg, task.rl_cfg)
        opts = rl_opts if row['cfg'] == task.rl_cfg else data_opts
        extra = f'model.teacher_ckpt={teacher_ckpt}' if distiller else 'randomness.seed=0'
        row.update(test(progress, task, row['cfg'], row['ckpt'],
                        work_dir / f"test_{row['cfg'].stem}", *opts, extra))
        row['params_m'] = num_params(task.student_cfg if distiller else row['cfg'])
    exported_metrics = test(progress, task, task.student_cfg, exported, work_dir / 'test_exported',
                            *data_opts)
    if exported_metrics != {label: rows[2][label] for _, label in task.metrics}:
        sys.exit(f'{task.key}: exported student disagrees with the distiller: '
                 f'{exported_metrics}')
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--tasks', nargs='+', choices=sorted(TASKS), default=['det'],
                        help='which tasks to run, in det / ins / seg / cls order (default: '
                        'det; seg and cls add about 9 min on 2 cores, 6 with cached '
                        'teachers)')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data', default=TASKS['det'].data, help='toy COCO data root')
    parser.add_argument('--ins-data', default=None,
                        help='toy COCO data root of the instance task (default: --data)')
    parser.add_argument('--seg-data', default=TASKS['seg'].data, help='toy ADE20K data root')
    parser.add_argument('--cls-data', default=TASKS['cls'].data,
                        help='toy ImageNet-style data root')
    parser.add_argument('--cache', default=str(Path.home() / '.cache' / 'rlpkd' / 'demo'),
                        help='where the trained toy teachers are kept between runs')
    args = parser.parse_args()
    work_dir = ROOT / args.work_dir
    work_dir.mkdir(parents=True, exist_ok=True)
    roots = {'det': args.data, 'ins': args.ins_data or args.data, 'seg': args.seg_data,
             'cls': args.cls_data}
    start, sections, all_rows = time.time(), [], []
    keys = [k for k in TASKS if k in args.tasks]
    with PlanProgress(STEPS_PER_TASK * len(keys)) as progress:
        for key in keys:
            task, task_start = TASKS[key], time.time()
            # Detection keeps its original layout (work_dirs/demo/...); the others nest.
            task_dir = work_dir if key == 'det' else work_dir / key
            rows = run_task(progress, task, task_dir, ROOT / roots[key], Path(args.cache))
            all_rows += rows
            sections.append(f'### {task.title}\n\n{task.setting}; '
                            f'{time.time() - task_start:.0f} s wall.\n\n' + table(task, rows))
    text = ('Toy-scale CPU numbers (2 cores), made by `python tools/demo.py --tasks '
            + ' '.join(k for k in TASKS if k in args.tasks) + '`. The exported '
            'uniform-KD student checkpoints reproduce the distilled metrics exactly.\n\n'
            + '\n'.join(sections) + f'\nTotal wall time: {time.time() - start:.0f} s.\n')
    print('\n' + text)
    (work_dir / 'results.md').write_text(text)
    (work_dir / 'results.json').write_text(json.dumps(
        [{k: (str(v) if isinstance(v, Path) else v) for k, v in r.items()} for r in all_rows],
        indent=2))


if __name__ == '__main__':
    main()
