"""Write ``docs/results.md``: every number the project has measured, on one page.

The page is generated from the committed result files in ``benchmarks/results/``. Each
``.md`` file goes in whole (its heading text, notes and tables, its own headings moved
under the file's section), after a link to it, to its ``.json`` records where there are
some, and the command(s) it states. A result file that no section below lists goes under
"Other results", figures are shown after the file whose name they start with, and every
other file (logs) is linked at the end, so nothing is left out. The page holds no date or
timing of its own: the same files give the same page, which
``tests/docs/test_results_page.py`` checks against the committed copy.

    .venv/bin/python benchmarks/results_page.py           # (re)write docs/results.md
    .venv/bin/python benchmarks/results_page.py --check   # exit 1 if it is out of date
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / 'benchmarks' / 'results'
PAGE = ROOT / 'docs' / 'results.md'
LINK = '../benchmarks/results/'  # the result files, as seen from docs/

#: (section title, one-line introduction, ((file stem, subsection title), ...))
Section = tuple[str, str, tuple[tuple[str, str], ...]]
SECTIONS: tuple[Section, ...] = (
    ('Detection and instance segmentation',
     'Toy Faster R-CNN and Mask R-CNN (R18-w32 FPN128 teacher, R18-w16 FPN64 student) on '
     'the toy COCO-format shapes, FPN levels P2-P5.',
     (('toy_detection_demo', 'Toy detection demo, one seed'),
      ('toy_detection_seeds', 'Toy detection, 3 seeds'),
      ('toy_instance_demo', 'Toy instance segmentation demo, one seed'))),
    ('Segmentation and classification',
     'Toy DeepLabV3+ and ResNet-18 on ADE20K-style and ImageNet-style shapes; the pyramid '
     'is the backbone (res2-res5).',
     (('toy_segcls_demo', 'Toy segmentation and classification demo, one seed'),
      ('ablation_cls_phase2_unfrozen', 'Toy classification, phase 2 unfrozen, one run'),
      ('seg_selection_variants', 'Toy segmentation, RL variants, 3 seeds'))),
    ('Every method on toy classification',
     'Every method of `tools/benchmark.py` (uniform, GradNorm, NAS baselines, RL-PyramidKD, '
     'ablations, MAML) with the same data, teacher, schedule and seeds.',
     (('teacher_strength_cls', 'Toy classification teacher, 6 vs 18 epochs, 3 seeds'),
      ('benchmark_cls', 'Every method, toy classification, 3 seeds'),
      ('cls_selection_variants', 'Toy classification, RL variants and fixed subsets, 3 seeds'),
      ('benchmark_cls_meta', 'MAML leave one task out, toy classification, 3 seeds'))),
    ('The known-answer benchmark',
     'Teacher levels made wrong per image (one level per image group, or every level but '
     'one per image), so the right selection differs per image: does any method find it?',
     (('known_answer', 'Known answer, noise'),
      ('known_answer_flip', 'Known answer, flip'),
      ('known_answer_erase', 'Known answer, erase'),
      ('known_answer_flip_strong_teacher', 'Known answer, flip, the stronger teacher'),
      ('known_answer_erase_strong_teacher', 'Known answer, erase, the stronger teacher'),
      ('known_answer_policy', 'Can PPO learn the known answer from the real states?'),
      ('state_probe', 'Does the state carry the known answer? (per-level signals)'),
      ('learner_probe', 'Can the learner learn it within one run? (per-level credit)'),
      ('known_answer_level_credit', 'Per-level signals and credit end to end, noise'),
      ('known_answer_headroom', 'Headroom with a stronger teacher, noise'),
      ('known_answer_headroom_noise_all_but_one',
       'Headroom, every level but one wrong per image, noise (screen, one seed)'),
      ('known_answer_headroom_flip_all_but_one',
       'Headroom, every level but one wrong per image, flip'),
      ('known_answer_level_credit_flip_all_but_one',
       'Per-level credit end to end, every level but one wrong, flip'),
      ('state_probe_flip_all_but_one',
       'Does the state carry the answer? Every level but one wrong, flip'),
      ('learner_probe_flip_all_but_one',
       'Can the learner learn it within one run? Every level but one wrong, flip'),
      ('known_answer_level_credit_agreement',
       'Per-level credit end to end on the state that carries the answer, flip'),
      ('learner_probe_batch_alignment', 'Can the learner learn it from the batch-alignment '
       'reward? Every level but one wrong, flip'),
      ('learner_probe_stitching',
       'Can the learner learn it from the stitching reward? Every level but one wrong, flip'),
      ('known_answer_level_credit_batch_alignment_agreement',
       'Per-level credit end to end with the batch-alignment reward, flip'),
      ('known_answer_level_credit_stitching',
       'Per-level credit end to end with the stitching reward, flip'))),
    ('Reward signals',
     'Which candidate selection each reward scores highest, image by image, on the '
     'known-answer data (chance: 25 % with four candidates, 20 % with five).',
     (('reward_signal', 'Gap and task reward, noise'),
      ('reward_signal_step1', 'Task reward with a 100x step, noise'),
      ('reward_signal_alignment', 'Gradient-alignment reward, noise'),
      ('reward_signal_batch_alignment', 'Batch-alignment reward, noise'),
      ('reward_signal_flip', 'Every reward, flip'),
      ('reward_signal_flip_all_but_one',
       'Every reward, every level but one wrong, flip, the stronger teacher'),
      ('reward_signal_stitching_by_size', 'Stitching reward by right level and size group, flip'))),
    ('Speed, memory and training cost',
     'Time, memory and FLOPs per iteration against uniform KD.',
     (('rl_overhead', 'RL-PyramidKD overhead per phase, toy detection, CPU'),
      ('rl_overhead_seg_cpu', 'RL-PyramidKD overhead per phase, toy segmentation, CPU'),
      ('rl_overhead_cls_cpu', 'RL-PyramidKD overhead per phase, toy classification, CPU'),
      ('rl_overhead_cls_gpu', 'RL-PyramidKD overhead, toy classification, GPU'),
      ('full_size_step_cpu_rl', 'Full-size Faster R-CNN step, RL phase 2, CPU'),
      ('full_size_step_cpu_uniform', 'Full-size Faster R-CNN step, uniform KD, CPU'),
      ('step_cost', 'Cost of a whole iteration'),
      ('gradnorm_overhead', 'GradNorm overhead'))),
    ('Install and GPU',
     "mmcv's CUDA ops built from PyPI alone, and the GPU check.",
     (('cuda_build', "mmcv's CUDA ops from PyPI, build"),
      ('gpu_check', 'GPU check, every task'))),
    ('Synthetic problems',
     'The learners on problems with a known optimum, away from any network.',
     (('rl_contextual', 'PPO on level selection with a known optimum'),
      ('maml_adaptation', 'MAML adaptation on a synthetic task family'))),
    ('Bad input and faults',
     'Bad configs, files and arguments, and faults during a run (kill -9, torn writes, '
     'non-finite losses).',
     (('fault_suite', 'Fault and bad-input suite'),)),
)
OTHER = 'Other results'
COMMAND = re.compile(r'^(?:nice -n \d+ )?(?:\.venv/bin/)?(?:python |bash )?'
                     r'(?:tools|benchmarks)/[\w./-]+\.(?:py|sh)\b')
GPU = re.compile(r'\bGPU \(([^)]+)\)')


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to '-'."""
    return re.sub(r'[^\w\- ]', '', heading.strip().lower()).replace(' ', '-')


def indented_commands(text: str) -> list[str]:
    """The ``tools/`` / ``benchmarks/`` commands of the file's indented code blocks, each
    with its backslash-continued lines joined."""
    commands, current = [], ''
    for line in text.splitlines():
        if not line.startswith('    '):
            current = ''
            continue
        part = line.strip()
        current = f'{current} {part}' if current else part
        if current.endswith('\\'):
            current = current[:-1].rstrip()
            continue
        if COMMAND.match(current):
            commands.append(current)
        current = ''
    return commands


def stated_commands(text: str, record: Any) -> list[str]:
    """The commands a result file states: its backticked and indented ``tools/`` /
    ``benchmarks/`` commands, then the ``command`` of its JSON record, each once, in order."""
    found = [span for span in re.findall(r'`([^`\n]+)`', text) if COMMAND.match(span)]
    found += indented_commands(text)
    if isinstance(record, dict) and isinstance(record.get('command'), str):
        found.append(record['command'])
    return list(dict.fromkeys(found))


def shift_headings(text: str, top: int = 4) -> str:
    """Move the file's own headings so that its highest one is at level ``top``."""
    lines = text.splitlines()
    fence = False
    levels = []
    for line in lines:
        fence ^= line.startswith('```')
        match = re.match(r'(#{1,6}) ', line)
        if match and not fence:
            levels.append(len(match.group(1)))
    if not levels:
        return text
    shift = top - min(levels)
    out, fence = [], False
    for line in lines:
        fence ^= line.startswith('```')
        match = re.match(r'(#{1,6}) ', line)
        if match and not fence:
            line = '#' * min(6, len(match.group(1)) + shift) + line[len(match.group(1)):]
        out.append(line)
    return '\n'.join(out)


def load_record(stem: str) -> tuple[Any, str]:
    """The JSON record next to ``stem.md`` (or None) and a note on how many runs it holds."""
    path = RESULTS / f'{stem}.json'
    if not path.exists():
        return None, ''
    record = json.loads(path.read_text(encoding='utf-8'))
    count = f', {len(record)} records' if isinstance(record, list) else ''
    return record, f' · per-run data: [`{stem}.json`]({LINK}{stem}.json){count}'


def figures_of(stem: str) -> list[Path]:
    """The figures in ``figures/`` whose names start with ``stem``, sorted."""
    folder = RESULTS / 'figures'
    return sorted(p for p in folder.glob(f'{stem}_*.png')) if folder.is_dir() else []


def file_block(stem: str, title: str) -> list[str]:
    """One result file: heading, source links, commands, scale note, content, figures."""
    text = (RESULTS / f'{stem}.md').read_text(encoding='utf-8').strip()
    record, records_note = load_record(stem)
    lines = [f'### {title}', '',
             f'Source: [`benchmarks/results/{stem}.md`]({LINK}{stem}.md){records_note}.']
    commands = stated_commands(text, record)
    if commands:
        lines.append('Produced by: ' + '; '.join(f'`{c}`' for c in commands) + '.')
    else:
        lines.append('Produced by: see the file.')
    gpu = GPU.search(text[:400])
    if gpu:
        lines.append(f'**Measured on a GPU ({gpu.group(1)})**, not on CPU.')
    lines += ['', shift_headings(text), '']
    for figure in figures_of(stem):
        name = figure.relative_to(RESULTS).as_posix()
        lines += [f'![{figure.stem}]({LINK}{name})', '']
    return lines


def layout() -> list[Section]:
    """The sections with the result files that exist; unlisted ``.md`` files under
    :data:`OTHER`, titled by their names."""
    present = {p.stem for p in RESULTS.glob('*.md')}
    listed = set()
    sections = []
    for title, intro, files in SECTIONS:
        kept = tuple((stem, sub) for stem, sub in files if stem in present)
        listed |= {stem for stem, _ in files}
        if kept:
            sections.append((title, intro, kept))
    others = tuple((stem, stem.replace('_', ' ')) for stem in sorted(present - listed))
    if others:
        sections.append((OTHER, 'Result files no section above lists.', others))
    return sections


def other_files(sections: list[Section]) -> list[str]:
    """Links to the files the sections do not show (logs, stray data), sorted."""
    shown = set()
    for _, _, files in sections:
        for stem, _ in files:
            shown |= {f'{stem}.md', f'{stem}.json'}
            shown |= {p.relative_to(RESULTS).as_posix() for p in figures_of(stem)}
    rest = sorted(p.relative_to(RESULTS).as_posix() for p in RESULTS.rglob('*')
                  if p.is_file() and p.relative_to(RESULTS).as_posix() not in shown)
    return [f'- [`benchmarks/results/{name}`]({LINK}{name})' for name in rest]


def header(sections: list[Section]) -> list[str]:
    """Title, what the numbers are, how the page is made, and the contents."""
    lines = [
        '# Results', '',
        '<!-- Generated by benchmarks/results_page.py from benchmarks/results/. '
        'Do not edit by hand. -->', '',
        'Every number rlpkd has measured, on one page. **All numbers are toy-scale CPU '
        'measurements unless a file says otherwise** (synthetic shapes, networks of 16-32 '
        'base channels, 2 CPU cores; the one GPU measurement is marked). None of the '
        'full-scale configs (COCO, ADE20K, ImageNet) has been run: nothing here says how '
        'rlpkd does at full scale.', '',
        'This page is generated: `.venv/bin/python benchmarks/results_page.py` rewrites it '
        'from the files in `benchmarks/results/` (`--check` says whether it is up to date). '
        'Each subsection below is one result file, copied whole: its heading text, notes and '
        'tables, after a link to the file and the command it states.', '',
        '## Contents', '']
    for title, _, files in sections:
        lines.append(f'- [{title}](#{slug(title)})')
        lines += [f'  - [{sub}](#{slug(sub)})' for _, sub in files]
    return lines + ['- [Other files](#other-files)', '']


def render() -> str:
    """The whole page."""
    sections = layout()
    lines = header(sections)
    for title, intro, files in sections:
        lines += [f'## {title}', '', intro, '']
        for stem, sub in files:
            lines += file_block(stem, sub)
    lines += ['## Other files', '', 'Logs and other files the sections above do not show:',
              ''] + other_files(sections)
    return '\n'.join(lines).rstrip('\n') + '\n'


def main(argv: list[str] | None = None) -> int:
    """Write the page, or with ``--check`` only compare it; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true',
                        help='do not write; exit 1 if docs/results.md differs')
    parser.add_argument('--out', type=Path, default=PAGE, help='page to write or check')
    args = parser.parse_args(argv)
    page = render()
    if args.check:
        current = args.out.read_text(encoding='utf-8') if args.out.exists() else ''
        if current != page:
            print(f'{args.out} is out of date: run .venv/bin/python benchmarks/results_page.py')
            return 1
        return 0
    args.out.write_text(page, encoding='utf-8')
    print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
