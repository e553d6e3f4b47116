"""Known-answer benchmark: can a selector learn *per-sample* level choices?

On the toy COCO data the teacher's P5 is replaced by noise on images with only large
objects and its P2 on images with only small objects (``rlpkd/benchmarking/parts/known_answer.py``);
with λ = 0 the right selection of every image is known (drop exactly its group's
corrupted level), and no fixed subset can make it (it drops both or neither). Trains,
with the same schedule and seeds, uniform KD, the four fixed subsets that matter, a
group oracle (told the group) and RL-PyramidKD variants, through the real
``tools/train.py`` / ``tools/test.py``; reports mAP (mean ± std over seeds) and, for
learned selectors, per-group selection rates and the fraction of val images whose
decision matches the known answer. Writes ``benchmarks/results/known_answer.{md,json}``.
Finished runs are reused (``--work-dir``); toy-scale CPU numbers.

Headroom (is per-sample selection worth learning here?): ``--all-subsets`` also trains
every fixed subset of levels, ``--teacher-images N --teacher-epochs E`` a stronger
teacher (trained once on N other images for E epochs, cached), and the output gains
the teacher's own mAP and the paired (same seed) differences of the group oracle to
every method (:mod:`rlpkd.benchmarking.headroom`):

    .venv/bin/python benchmarks/known_answer.py [--seeds 0 1 2] [--epochs 9]
    .venv/bin/python benchmarks/known_answer.py --seeds 0 1 2 3 4 --all-subsets \
        --teacher-images 480 --teacher-epochs 24 --methods 'student alone' 'uniform KD' \
        'group oracle' --out benchmarks/results/known_answer_headroom

``--layout all_but_one`` makes every level but one wrong on every image (the right level
cycles over the images), so that no fixed subset can get most of the way
(``rlpkd/benchmarking/parts/known_answer.py``).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from rlpkd.benchmarking import SCHEDULE_CONTROL, PlanProgress, run_plan, run_tool
from rlpkd.benchmarking.headroom import fixed_subsets, headroom_markdown, subset_label
from rlpkd.benchmarking.parts import CORRUPTED, CORRUPTIONS, LAYOUTS, KnownAnswers
from rlpkd.benchmarking.studies import (
    DET,
    DET_LEVEL_CREDIT,
    RUN_OPTIONS,
    column,
    decisions,
    mean_std,
    study_methods,
)
from rlpkd.benchmarking.suite import prepare_teacher
from rlpkd.benchmarking.teacher import teacher_metrics

ROOT = Path(__file__).resolve().parents[1]


def rl_signal(signal: str) -> list:
    """Options of an RL run with a task-signal reward and the self-critical baseline."""
    return [f'model.selector.reward_signal={signal}', 'model.selector.self_critical=True',
            'train_cfg.phases.1.collect_samples=4', 'train_cfg.phases.2.collect_samples=4']


AGREEMENT_STATE = 'model.selector.state_fields=[discrepancy,agreement]'


def fixed(subset) -> tuple:
    """The uniform-KD config keeping the levels of ``subset`` for every image."""
    return (DET.uniform, ['model.selector.type=rlpkd.FixedSelector',
                          f'model.selector.levels=[{",".join(subset)}]'])


#: the fixed subsets run by default: those the known answers point at
DEFAULT_SUBSETS = (('P3', 'P4', 'P5'), ('P2', 'P3', 'P4'), ('P3', 'P4'))
METHODS = {
    'student alone': (DET.student, []),
    'uniform KD': (DET.uniform, []),
    **{subset_label(s): fixed(s) for s in fixed_subsets(DET.levels)},
    'group oracle': (DET.uniform, ['model.selector.type=rlpkd.GroupOracleSelector']),
    # control: RL's phase schedule (backbone frozen in phase 2) with every level kept
    'uniform KD on the RL schedule': (DET.rl, list(SCHEDULE_CONTROL)),
    'RL-PyramidKD, gap reward': (DET.rl, ['model.selector.lambda_tradeoff=0.0']),
    'RL-PyramidKD, task reward, self-critical': (DET.rl, ['model.selector.lambda_tradeoff=0.0',
                                                      *rl_signal('task')]),
    'RL-PyramidKD, batch-alignment reward, self-critical': (
        DET.rl, ['model.selector.lambda_tradeoff=0.0', *rl_signal('batch_alignment')]),
    # the per-level signal state + per-level credit (4 recorded samples per step, each
    # also scored with every level flipped)
    'RL-PyramidKD, level credit, gap reward': (
        DET_LEVEL_CREDIT, ['model.selector.lambda_tradeoff=0.0']),
    'RL-PyramidKD, level credit, task reward': (
        DET_LEVEL_CREDIT, ['model.selector.lambda_tradeoff=0.0',
                           'model.selector.reward_signal=task']),
    # first order, so exactly additive over levels: a level's credit is the alignment of
    # its distillation gradient with the scored batch's task gradient
    'RL-PyramidKD, level credit, batch-alignment reward': (
        DET_LEVEL_CREDIT, ['model.selector.lambda_tradeoff=0.0',
                           'model.selector.reward_signal=batch_alignment']),
    # the state that carries the answer with every level but one wrong (gate 2)
    'RL-PyramidKD, level credit, task reward, discrepancy + agreement': (
        DET_LEVEL_CREDIT, ['model.selector.lambda_tradeoff=0.0',
                           'model.selector.reward_signal=task', AGREEMENT_STATE]),
    'RL-PyramidKD, level credit, batch-alignment reward, discrepancy + agreement': (
        DET_LEVEL_CREDIT, ['model.selector.lambda_tradeoff=0.0',
                           'model.selector.reward_signal=batch_alignment', AGREEMENT_STATE]),
    # the same with the teacher's head judging the stitched pyramid (rlpkd/rl/stitching.py)
    'RL-PyramidKD, level credit, stitching reward, discrepancy + agreement': (
        DET_LEVEL_CREDIT, ['model.selector.lambda_tradeoff=0.0',
                           'model.selector.reward_signal=stitching', AGREEMENT_STATE]),
}


def ann_files(data: Path) -> list:
    """The toy data's train and val annotation files (the images' groups)."""
    return [f'{data}/annotations/instances_{split}.json' for split in ('train', 'val')]


def options(args, data: Path) -> list:
    """``--cfg-options`` of every distillation run: the known-answer distiller on ``data``."""
    return ['model.type=rlpkd.KnownAnswerDistiller',
            f'model.ann_files=[{",".join(ann_files(data))}]',
            f'model.corruption={args.corruption}', f'model.layout={args.layout}']


def method_table(args, data: Path) -> dict:
    """:data:`METHODS` with the known-answer options (and the oracle's answers) added."""
    table = {}
    for label, (config, opts) in METHODS.items():
        if config != DET.student:
            opts = [*options(args, data), *opts]
        if 'Oracle' in ' '.join(opts):
            opts = [*opts, f'model.selector.ann_files=[{",".join(ann_files(data))}]',
                    f'model.selector.layout={args.layout}']
        table[label] = (config, opts)
    return table


def strong_teacher(args, work: Path, progress) -> Path:
    """The teacher: trained once on the student's train images, or with
    ``--teacher-images`` on that many other images (``--teacher-epochs`` long)."""
    data = (work / 'data').resolve()
    extra = [] if args.teacher_epochs is None else \
        [f'train_cfg.max_epochs={args.teacher_epochs}']
    if args.teacher_images:
        data = (work / f'teacher_data_{args.teacher_images}').resolve()
        run_tool('make_toy_data.py', ['det', '--out', data, '--num-train',
                                      args.teacher_images, '--num-val', args.num_val,
                                      '--seed', 1000], work / 'teacher_data.log')
    return prepare_teacher(DET, work, data, None, progress, options=extra)


def teacher_map(teacher: Path, work: Path, data: Path) -> float:
    """The teacher's own mAP on the benchmark's val images (tested once, kept)."""
    return teacher_metrics(DET, teacher, data, work)['coco/bbox_mAP']


WRONG = {'noise': 'noise', 'flip': 'its own map mirrored left-right',
         'erase': 'its per-channel spatial mean (no object)'}


def decision_scores(records: list, answers: KnownAnswers) -> dict:
    """Of the val images' decisions: ``match``, the fraction of images whose kept levels
    are their known answer; ``kept_right`` / ``kept_wrong``, the fraction of the levels
    the answer keeps / drops (the teacher's right / wrong levels) that were kept."""
    kept = [tuple(int(v != 0) for v in r['levels']) for r in records]
    right = [answers.answer(r['image']) for r in records]
    pairs = [(k, a) for ks, ans in zip(kept, right) for k, a in zip(ks, ans)]

    def kept_share(answer: int) -> float:
        chosen = [k for k, a in pairs if a == answer]
        return sum(chosen) / len(chosen) if chosen else float('nan')
    return dict(match=sum(k == a for k, a in zip(kept, right)) / len(kept),
                kept_right=kept_share(1), kept_wrong=kept_share(0))


def command(args) -> str:
    """The command that makes this output."""
    extra = ''.join(f' --{k.replace("_", "-")} {getattr(args, k)}' for k in (
        'teacher_images', 'teacher_epochs') if getattr(args, k))
    if args.layout != 'group':
        extra += f' --layout {args.layout}'
    if args.methods != default_methods():
        extra += ' --methods ' + ' '.join(f"'{m}'" for m in args.methods)
    if Path(args.out).resolve() != Path(default_out(args.corruption, args.layout)).resolve():
        extra += f' --out {Path(args.out).resolve().relative_to(ROOT)}' \
            if Path(args.out).resolve().is_relative_to(ROOT) else f' --out {args.out}'
    return (f'benchmarks/known_answer.py --corruption {args.corruption} --seeds '
            f'{" ".join(map(str, args.seeds))} --epochs {args.epochs} --num-train '
            f'{args.num_train} --num-val {args.num_val}{extra}'
            f'{" --all-subsets" if args.all_subsets else ""}')


def default_methods() -> list:
    """The methods run without ``--methods``: all but the student alone and the fixed
    subsets outside :data:`DEFAULT_SUBSETS`."""
    return [m for m in METHODS if m != 'student alone' and (
        not m.startswith('fixed: ') or m in map(subset_label, DEFAULT_SUBSETS))]


def default_out(corruption: str, layout: str) -> str:
    tag = ('' if corruption == 'noise' else f'_{corruption}') + \
        ('' if layout == 'group' else f'_{layout}')
    return str(ROOT / 'benchmarks' / 'results' / f'known_answer{tag}')


def wrong_levels(args) -> str:
    """Which teacher levels of which images are wrong, in words."""
    wrong = WRONG[args.corruption]
    if args.layout == 'all_but_one':
        return (f'every teacher level but one = {wrong} on every image (the right level '
                'cycles P2, P3, P4, P5 over the images)')
    return (f'teacher {CORRUPTED["large"]} = {wrong} on "large" images, '
            f'{CORRUPTED["small"]} = {wrong} on "small" images')


def markdown(results: list, args, teacher: float) -> str:
    trained = (f'{args.teacher_images} other images' if args.teacher_images else
               'the same train images') + \
        f', {args.teacher_epochs or 12} epochs'
    lines = [f'Known-answer benchmark (toy-scale CPU): {wrong_levels(args)}, λ = 0; '
             f'{args.num_train} train / '
             f'{args.num_val} val images, {args.epochs} epochs, seeds {args.seeds}; the '
             f'teacher ({trained}) has {teacher:.3f} mAP on the val images. '
             f'`{command(args)}`. mean ± std over seeds.', '',
             '| method | mAP | AP_s | AP_l | distill cost | P2 kept (large / small / mixed) '
             '| P5 kept (large / small / mixed) | subsets | matches known answer '
             '| right / wrong levels kept | train (s) |',
             '|---' * 11 + '|']
    for method in METHODS:
        runs = [r for r in results if r['method'] == method]
        if not runs:
            continue

        def col(key, runs=runs):
            return column(runs, key)

        def rates(level, runs=runs):
            return ' / '.join(col(f'selection/rate_{level}/{g}')
                              for g in ('large', 'small', 'mixed'))
        learned = 'selection/cost_fraction' in runs[0]['metrics']
        lines.append(' | '.join([
            f'| {method}', col('coco/bbox_mAP'), col('coco/bbox_mAP_s'),
            col('coco/bbox_mAP_l'), col('selection/cost_fraction') if learned else '–',
            rates('P2') if learned else '–', rates('P5') if learned else '–',
            col('selection/distinct_subsets') if learned else '–',
            mean_std([r['match'] for r in runs]) if learned else '–',
            (f"{mean_std([r['kept_right'] for r in runs])} / "
             f"{mean_std([r['kept_wrong'] for r in runs])}") if learned else '–',
            mean_std([r['train_s'] for r in runs])]) + ' |')
    if any(r['method'] == 'group oracle' for r in results):
        lines += ['', 'Paired by seed (the same data order and initialisation):', '',
                  headroom_markdown(results, 'group oracle', 'coco/bbox_mAP', 'mAP')]
    return '\n'.join(lines) + '\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--epochs', type=int, default=9)
    parser.add_argument('--num-train', type=int, default=120)
    parser.add_argument('--num-val', type=int, default=60)
    parser.add_argument('--methods', nargs='+', choices=sorted(METHODS),
                        default=default_methods())
    parser.add_argument('--all-subsets', action='store_true',
                        help='also run every fixed subset of levels (14)')
    parser.add_argument('--teacher-images', type=int, default=0,
                        help='train the teacher on this many other images (0: on the '
                        "student's train images)")
    parser.add_argument('--teacher-epochs', type=int,
                        help="the teacher's epochs (default: its config's 12)")
    parser.add_argument('--corruption', choices=CORRUPTIONS, default='noise',
                        help='how the wrong teacher level is made '
                        '(rlpkd/benchmarking/parts/known_answer.py)')
    parser.add_argument('--layout', choices=LAYOUTS, default='group',
                        help='which levels of which images are wrong: one level of the '
                        '"large" / "small" images (group) or every level but one of every '
                        'image (all_but_one)')
    parser.add_argument('--work-dir', default='work_dirs/known_answer_v3',
                        help='data, teacher, and the runs of each corruption under '
                        '<work-dir>/<corruption>/ (<work-dir>/teacher_<images>i_<epochs>e/'
                        '<corruption>/ with a --teacher-images / --teacher-epochs teacher; '
                        '<corruption>_<layout> for another layout than group)')
    parser.add_argument('--out', help='output stem (default: benchmarks/results/'
                        'known_answer, + _<corruption> for another corruption than noise, '
                        '+ _<layout> for another layout than group)')
    args = parser.parse_args()
    args.out = args.out or default_out(args.corruption, args.layout)
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    data = (work / 'data').resolve()
    run_tool('make_toy_data.py', ['det', '--out', data, '--num-train', args.num_train,
                                  '--num-val', args.num_val], work / 'data.log')
    with PlanProgress(1) as progress:  # one teacher for every corruption
        teacher = strong_teacher(args, work, progress)
    runs = args.corruption + ('' if args.layout == 'group' else f'_{args.layout}')
    root = work / runs
    if args.teacher_images or args.teacher_epochs:
        root = work / f'teacher_{args.teacher_images}i_{args.teacher_epochs}e' / runs
    names = [*args.methods, *(m for m in METHODS if args.all_subsets and
                              m.startswith('fixed: ') and m not in args.methods)]
    plan = study_methods(method_table(args, data), args.epochs, names)
    results = [r for r in run_plan(DET, plan, args.seeds, root, data, teacher, RUN_OPTIONS)
               if r['status'] == 'ok']
    learned = {m.key: m for m in plan if m.learned}
    answers = KnownAnswers(ann_files(data), args.layout)
    for record in results:
        if record['key'] in learned:
            record.update(decision_scores(decisions(root, learned[record['key']],
                                                    record['seed']), answers))
    text = markdown(results, args, teacher_map(teacher, work, data))
    Path(args.out + '.json').write_text(json.dumps(results, indent=1))
    Path(args.out + '.md').write_text(text)
    print(text)


if __name__ == '__main__':
    main()
