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
4. evaluate all four with the task's metric via ``tools/test.py``; check that the
   exported student checkpoint reproduces the distilled model's metrics;
5. where the task has an RL-PyramidKD config (every task), train it (phases 1-3) on the
   same data and report its metric, the fraction of the distillation cost its policy
   spends and how often it keeps each level;
6. state whether the teacher is stronger than the student alone (one seed; distillation
   from a teacher that is not measures regularisation, not knowledge: ``tools/benchmark.py``
   refuses to compare methods then);
7. print one table per task and write them to ``<work-dir>/results.md`` / ``results.json``.

Every step runs the same ``tools/*.py`` a user runs, its output in a log file under
``--work-dir``; the terminal shows one progress line (step k of n, the running training's
epoch / iteration and ETA, the demo's ETA). Numbers are toy-scale CPU numbers.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

try:  # rlpkd installed (tools/setup_env.sh installs it in editable mode)
    import rlpkd
except ImportError:  # run from a checkout without ``pip install``
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import rlpkd  # noqa: F401

from rlpkd.benchmarking import PlanProgress, ToolError, run_tool
from rlpkd.benchmarking.plan import TOY_TASKS, TaskSetup
from rlpkd.benchmarking.teacher import DEFAULT_CACHE, TeacherStrength, cached_teacher

ROOT = Path(__file__).resolve().parents[1]
CFG = ROOT / 'configs'

STEPS_PER_TASK = 11  # data, teacher, student, KD, RL, export, 5 tests


@dataclass(frozen=True)
class Task:
    """What the demo shows of one task; its configs, data and levels are ``setup``'s."""

    setup: TaskSetup
    title: str
    names: tuple[str, str, str]   # row labels: teacher, student alone, distilled
    metrics: tuple[tuple[str, str], ...]   # (key in metrics.json, column label)
    setting: str                  # data / schedule, for the table's caption

    @property
    def key(self) -> str:
        return self.setup.key

    def config(self, name: str) -> Path:
        """The task's ``teacher`` / ``student`` / ``uniform`` / ``rl`` config file."""
        return self.setup.path(getattr(self.setup, name))


DET_METRICS = tuple((f'coco/{k}', label) for k, label in (
    ('bbox_mAP', 'mAP'), ('bbox_mAP_50', 'AP50'), ('bbox_mAP_s', 'AP_s'),
    ('bbox_mAP_m', 'AP_m'), ('bbox_mAP_l', 'AP_l')))
INS_METRICS = tuple((f'coco/{k}', label) for k, label in (
    ('segm_mAP', 'mask mAP'), ('segm_mAP_50', 'mask AP50'), ('segm_mAP_s', 'mask AP_s'),
    ('segm_mAP_m', 'mask AP_m'), ('segm_mAP_l', 'mask AP_l'), ('bbox_mAP', 'bbox mAP'),
    ('bbox_mAP_50', 'bbox AP50')))
FPN_NAMES = ('teacher R18-w32 FPN128', 'student R18-w16 FPN64, alone',
             'student, uniform pyramid KD')
TASKS = {
    'det': Task(TOY_TASKS['det'], 'Detection: Faster R-CNN, FPN levels P2-P5', FPN_NAMES,
                DET_METRICS,
                '240 train / 60 val 128x128 images, 12 epochs; COCO bbox metrics on val. '
                '"distill cost": fraction of the all-level distillation FLOPs the '
                'deterministic policy spends on the val images; "kept": how often it keeps '
                'each level; "subsets": distinct level subsets it uses; "MI": mutual '
                'information between its decisions and the image\'s size group'),
    'ins': Task(TOY_TASKS['ins'], 'Instance segmentation: Mask R-CNN, FPN levels P2-P5',
                FPN_NAMES, INS_METRICS,
                'the detection toy data with its exact instance masks, 240 train / 60 val '
                '128x128 images, 8 epochs (RL-PyramidKD: 3 warm-up / 2 policy / 3 joint); '
                'COCO segm (mask) and bbox metrics on val; "distill cost" / "kept" / '
                '"subsets" / "MI" as for detection'),
    'seg': Task(TOY_TASKS['seg'], 'Segmentation: DeepLabV3+ (dilated, res3-res5 at stride 8), '
                'backbone levels res2-res5',
                ('teacher R18-w32-D8', 'student R18-w16-D8, alone',
                 'student, uniform pyramid KD'),
                (('mIoU', 'mIoU'), ('aAcc', 'aAcc'), ('mAcc', 'mAcc')),
                '600 train / 90 val 64x64 images, 12 epochs; mmseg IoUMetric (%) on val; '
                '"distill cost" / "kept" as for detection'),
    'cls': Task(TOY_TASKS['cls'], 'Classification: ResNet-18, backbone levels res2-res5',
                ('teacher R18-w32', 'student R18-w16, alone', 'student, uniform pyramid KD'),
                (('accuracy/top1', 'top-1'),),
                '1800 train / 300 val 64x64 images, 6 epochs; mmpretrain Accuracy (%) on val; '
                '"distill cost" / "kept" as for detection'),
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
        out['rates'] = [metrics[f'selection/rate_{n}'] for n in task.setup.levels]
        out['subsets'] = metrics['selection/distinct_subsets']
        out['mi'] = metrics.get('selection/group_mi')
    return out


def num_params(cfg: Path) -> float:
    """Parameters (millions) of the model a plain mm config builds."""
    from rlpkd.models.utils import build_mm_model
    model = build_mm_model(dict(cfg_path=str(cfg)))
    return sum(p.numel() for p in model.parameters()) / 1e6


def teacher(progress: PlanProgress, task: Task, work_dir: Path, cache: Path,
            data: Path) -> tuple[Path, float | None]:
    """The task's toy teacher, trained unless one for this teacher config and these data
    files is in ``cache`` (:func:`rlpkd.benchmarking.teacher.cached_teacher`)."""
    progress.start(f'teacher {task.setup.teacher}')
    try:
        ckpt, seconds = cached_teacher(task.setup, data, cache, work_dir / 'teacher',
                                       progress.status)
    except ToolError as err:
        sys.exit(str(err))
    progress.finish('ok' if seconds is not None else f'cached: {ckpt}',
                    executed=seconds is not None)
    return ckpt, seconds


def teacher_strength(task: Task, rows: list[dict]) -> TeacherStrength:
    """The teacher's main metric against the student alone's (rows 0 and 1; one seed)."""
    label = task.metrics[0][1]
    return TeacherStrength(label, rows[0][label], (rows[1][label], ))


def table(task: Task, rows: list[dict]) -> str:
    """Markdown table of the rows; the cost / kept columns are the RL row's decisions."""
    labels = [label for _, label in task.metrics]
    cols = ['model', 'params (M)', 'train (s)', 'distill cost',
            ' / '.join(task.setup.levels) + ' kept', 'subsets', 'MI (bits)']
    head = '| ' + ' | '.join(cols + labels) + ' |\n' + '|---' * (len(cols) + len(labels))
    digits = 3 if task.setup.coco else 2
    lines = []
    for r in rows:
        cells = [r['name'], f"{r['params_m']:.2f}",
                 'cached' if r['train_s'] is None else f"{r['train_s']:.0f}",
                 '–' if r.get('cost') is None else f"{r['cost']:.3f}",
                 ' / '.join(f'{v:.2f}' for v in r['rates']) if r.get('rates') else '–',
                 f"{r['subsets']:.0f}" if r.get('subsets') is not None else '–',
                 f"{r['mi']:.3f}" if r.get('mi') is not None else '–']
        cells += [f'{r[k]:.{digits}f}' for k in labels]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return head + '|\n' + '\n'.join(lines) + '\n'


def train_rows(progress: PlanProgress, task: Task, work_dir: Path, data: Path,
               cache: Path, sizes: tuple[str, ...] = ()) -> list[dict]:
    """Steps 1-3 and 5's training: data (``sizes``: ``make_toy_data.py`` size flags),
    teacher, student alone, uniform KD, RL; one row each (``cfg``, ``ckpt``, ``train_s``,
    ``options`` to test it with)."""
    run(progress, 'make_toy_data.py', task.setup.data_cmd, '--out', str(data), *sizes,
        log=work_dir / 'data.log')
    data_opts = task.setup.data_options(data)
    teacher_ckpt, teacher_s = teacher(progress, task, work_dir, cache, data)
    distill_opts = (*data_opts, f'model.teacher_ckpt={teacher_ckpt}')
    rl_opts = (*task.setup.data_options(data, learned=True), f'model.teacher_ckpt={teacher_ckpt}')
    rows = [dict(name=task.names[0], cfg=task.config('teacher'), ckpt=teacher_ckpt,
                 train_s=teacher_s, options=(*data_opts, 'randomness.seed=0'))]
    for name, cfg, work, opts in (
            (task.names[1], 'student', 'student', (*data_opts, 'randomness.seed=0')),
            (task.names[2], 'uniform', 'distill', distill_opts),
            ('student, RL-PyramidKD (λ = 0.5)', 'rl', 'rlpkd', rl_opts)):
        ckpt, seconds = train(progress, task.config(cfg), work_dir / work, *opts)
        rows.append(dict(name=name, cfg=task.config(cfg), ckpt=ckpt, train_s=seconds,
                         options=opts))
    rows[2]['cost'] = 1.0
    return rows


def run_task(progress: PlanProgress, task: Task, work_dir: Path, data: Path,
             cache: Path, sizes: tuple[str, ...] = ()) -> list[dict]:
    """Steps 1-5 for one task; return its rows (teacher, student alone, KD, RL)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    rows = train_rows(progress, task, work_dir, data, cache, sizes)
    exported = work_dir / 'distilled_student.pth'
    run(progress, 'export_student.py', str(rows[2]['ckpt']), str(exported),
        log=work_dir / 'export.log')
    for row in rows:
        row.update(test(progress, task, row['cfg'], row['ckpt'],
                        work_dir / f"test_{row['cfg'].stem}", *row.pop('options')))
        distiller = row['cfg'] in (task.config('uniform'), task.config('rl'))
        row['params_m'] = num_params(task.config('student') if distiller else row['cfg'])
        row['task'] = task.key
    exported_metrics = test(progress, task, task.config('student'), exported,
                            work_dir / 'test_exported', *task.setup.data_options(data))
    if exported_metrics != {label: rows[2][label] for _, label in task.metrics}:
        sys.exit(f'{task.key}: exported student disagrees with the distiller: '
                 f'{exported_metrics}')
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--tasks', nargs='+', choices=sorted(TASKS), default=['det'],
                        help='which tasks to run, in det / ins / seg / cls order (default: '
                        'det; seg and cls add about 11 min on 2 cores, 6 with cached '
                        'teachers)')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data', default=TASKS['det'].setup.data_root, help='toy COCO data root')
    parser.add_argument('--ins-data', default=None,
                        help='toy COCO data root of the instance task (default: --data)')
    parser.add_argument('--seg-data', default=TASKS['seg'].setup.data_root,
                        help='toy ADE20K data root')
    parser.add_argument('--cls-data', default=TASKS['cls'].setup.data_root,
                        help='toy ImageNet-style data root')
    parser.add_argument('--cache', default=str(DEFAULT_CACHE),
                        help='where the trained toy teachers are kept between runs')
    parser.add_argument('--num-train', type=int, help='training images of every task\'s toy '
                        'data (default: the task\'s, as in the tables\' captions)')
    parser.add_argument('--num-val', type=int, help='validation images, likewise')
    args = parser.parse_args()
    sizes = tuple(str(v) for flag, n in (('--num-train', args.num_train),
                                         ('--num-val', args.num_val))
                  if n is not None for v in (flag, n))
    work_dir = ROOT / args.work_dir
    work_dir.mkdir(parents=True, exist_ok=True)
    roots = {'det': args.data, 'ins': args.ins_data or args.data, 'seg': args.seg_data,
             'cls': args.cls_data}
    if sizes:  # smaller data must not overwrite the default toy data the configs read
        defaults = {t.setup.data_root for t in TASKS.values()}
        tag = '-'.join(sizes).replace('--', '')
        roots = {k: f'{v}-{tag}' if v in defaults else v for k, v in roots.items()}
    start, sections, all_rows = time.time(), [], []
    keys = [k for k in TASKS if k in args.tasks]
    with PlanProgress(STEPS_PER_TASK * len(keys)) as progress:
        for key in keys:
            task, task_start = TASKS[key], time.time()
            # Detection keeps its original layout (work_dirs/demo/...); the others nest.
            task_dir = work_dir if key == 'det' else work_dir / key
            rows = run_task(progress, task, task_dir, ROOT / roots[key], Path(args.cache),
                            sizes)
            all_rows += rows
            setting = task.setting + (f' (data sizes overridden: {" ".join(sizes)})'
                                      if sizes else '')
            sections.append(f'### {task.title}\n\n{setting}; '
                            f'{time.time() - task_start:.0f} s wall; the '
                            f'{teacher_strength(task, rows).summary()}.\n\n'
                            + table(task, rows))
    text = ('Toy-scale CPU numbers (2 cores), made by `python tools/demo.py --tasks '
            + ' '.join([*(k for k in TASKS if k in args.tasks), *sizes]) + '`. The exported '
            'uniform-KD student checkpoints reproduce the distilled metrics exactly.\n\n'
            + '\n'.join(sections) + f'\nTotal wall time: {time.time() - start:.0f} s.\n')
    print('\n' + text)
    (work_dir / 'results.md').write_text(text)
    (work_dir / 'results.json').write_text(json.dumps(
        [{k: (str(v) if isinstance(v, Path) else v) for k, v in r.items()} for r in all_rows],
        indent=2))


if __name__ == '__main__':
    main()
