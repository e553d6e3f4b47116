"""Regenerate the write-up's tables for one task at toy scale, mean ± std over seeds.

Usage: ``python tools/benchmark.py {det,seg,cls,ins} [--seeds N] [--only KEY|FAMILY|meta ...]
[--work-dir DIR] [--data DIR] [--teacher CKPT] [--allow-weak-teacher] [--cfg-options k=v ...]
[--meta [--meta-ks K ...] [--meta-iters N] [--meta-teacher TASK=CKPT ...]] [--full]``.

Every method is trained and tested with the same data, teacher, schedule and seeds
(0 .. N-1) through the real ``tools/train.py`` / ``tools/test.py``: the student alone,
uniform KD (+ gradient clipping, + GradNorm), DARTS-LS / GDAS-LS / EA-LS (search, then
retrain of the subset found), RL-PyramidKD + GradNorm with λ in {0, 0.25, 0.5, 1}, and
the ablations (independent decisions, without GradNorm). The student alone runs first
(every seed, whatever ``--only`` says); the teacher is then tested, and the benchmark
refuses to go on when it is not clearly stronger than the student alone (its test score
above the students' mean + 2 std; numbers in ``teacher.json`` and the tables' header)
unless ``--allow-weak-teacher``. A progress line tells which
run of how many is running, where its training is, and the plan's ETA. Finished runs
are reused when the command is run again (a killed run restarts); a failed run is
reported in its table cells and the plan goes on. Writes ``<work-dir>/tables.md``,
``tables.json`` and ``results.json`` (``tools/analyze_policy.py --benchmark``).
``--meta`` adds the meta-learning table (:mod:`rlpkd.benchmarking.meta`: MAML
meta-trained on the two other toy tasks, adapted to TASK for K PPO updates, vs from
scratch) in ``<work-dir>/meta/meta_table.md``.
``--full`` prints (does not run) the multi-GPU commands for the full-scale datasets: every
full-scale config of the task; ``ins`` (Mask R-CNN, COCO instance segmentation) has
full-scale configs only, so it takes ``--full``.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

try:
    import rlpkd  # noqa: F401
except ImportError:  # run from a checkout without ``pip install``
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlpkd.benchmarking import TASKS, full_commands, methods, run_benchmark, select
from rlpkd.benchmarking.meta import run_meta
from rlpkd.benchmarking.plan import TOY_TASKS
from rlpkd.benchmarking.teacher import WeakTeacherError


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('task', choices=sorted(TOY_TASKS),
                        help='ins (Mask R-CNN) only with --full')
    parser.add_argument('--seeds', type=int, default=3, help='number of seeds (0 .. N-1)')
    parser.add_argument('--only', nargs='+', metavar='KEY|FAMILY',
                        help='run only these methods (keys, e.g. uniform rl, or families: '
                        'student uniform gradopt nas lambda ablation; meta: the meta table)')
    parser.add_argument('--work-dir', help='default: work_dirs/benchmark_<task>')
    parser.add_argument('--data', type=Path, help='toy data root (default: generated)')
    parser.add_argument('--teacher', type=Path, help='teacher checkpoint (default: trained)')
    parser.add_argument('--allow-weak-teacher', action='store_true',
                        help='compare methods even when the teacher is not clearly stronger '
                        'than the student alone (refused by default; the tables say so)')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='extra config options for every run (not the teacher)')
    parser.add_argument('--meta', action='store_true',
                        help='also the meta-learning table: MAML meta-trained on the two '
                        'other toy tasks, adapted to TASK (K PPO updates) vs from scratch; '
                        '`--only meta` for that table alone')
    parser.add_argument('--meta-ks', type=int, nargs='+', default=[1, 5, 20],
                        help='adaptation lengths K (PPO updates) of the meta table')
    parser.add_argument('--meta-iters', type=int, default=60,
                        help='meta-iterations of phase 4 (the toy MAML config\'s)')
    parser.add_argument('--meta-teacher', nargs='+', default=[], metavar='TASK=CKPT',
                        help='existing toy teachers for the meta table (others are trained)')
    parser.add_argument('--full', action='store_true',
                        help='print the full-scale multi-GPU commands instead of running')
    parser.add_argument('--gpus', type=int, default=8, help='GPUs of --full commands')
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error('--seeds must be >= 1')
    if args.task not in TASKS and not args.full:
        parser.error(f'{args.task}: full-scale commands only (--full); the toy benchmark '
                     f'has {sorted(TASKS)}')
    if args.only and 'meta' in args.only:
        args.meta, args.only = True, [o for o in args.only if o != 'meta'] or ['none']
    try:
        args.meta_teacher = {k: Path(v) for k, v in (t.split('=', 1) for t in args.meta_teacher)}
    except ValueError:
        parser.error('--meta-teacher takes TASK=CKPT entries')
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    task = TOY_TASKS[args.task]
    try:
        plan = [] if args.only == ['none'] else select(methods(task), args.only)
    except ValueError as err:
        sys.exit(str(err))
    seeds = list(range(args.seeds))
    if args.full:
        print('\n'.join(full_commands(task, plan, seeds, args.gpus, others=not args.only)))
        if args.meta:
            print('# meta table: no full-scale commands (configs/maml/'
                  'maml_rlpkd_coco-ade20k-in1k.py meta-trains across the three full tasks)')
        return
    root = Path(args.work_dir or f'work_dirs/benchmark_{task.key}').resolve()
    command = 'python tools/benchmark.py ' + ' '.join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    try:
        if plan:
            print(run_benchmark(task, plan, seeds, root, command, args.data, args.teacher,
                                args.cfg_options, allow_weak_teacher=args.allow_weak_teacher))
            print(f'tables: {root}/tables.md, records: {root}/results.json')
        if args.meta:
            print(run_meta(task.key, seeds, root / 'meta', command, args.meta_ks,
                           args.meta_iters, args.meta_teacher))
            print(f'meta table: {root}/meta/meta_table.md')
    except FileNotFoundError as err:  # --data / --teacher / --meta-teacher
        sys.exit(str(err))
    except WeakTeacherError as err:
        sys.exit(f'{task.key}: refused to compare methods: {err}')


if __name__ == '__main__':
    main()
