"""The README's main job: uniform pyramid KD of a toy Faster R-CNN, end to end, on CPU.

1. generate the toy COCO data (deterministic) into ``data/toy_coco``;
2. train the toy teacher, or reuse the one cached for the same config and data;
3. train the student alone (baseline) and with uniform pyramid KD, same schedule;
4. evaluate all three with COCO mAP via ``tools/test.py``; check that the exported
   student checkpoint reproduces the distilled model's mAP;
5. train RL-PyramidKD (phases 1-3) on the same data and report its mAP, the fraction
   of the distillation cost its policy spends and how often it keeps each level;
6. print a table and write it to ``<work-dir>/results.md`` / ``results.json``.

Every step runs the same ``tools/*.py`` a user runs. Numbers are toy-scale CPU numbers.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CFG = ROOT / 'configs' / 'faster_rcnn'
TEACHER_CFG = CFG / 'faster-rcnn_r18-w32_fpn_toy-coco.py'
STUDENT_CFG = CFG / 'faster-rcnn_r18-w16_fpn_toy-coco.py'
DISTILL_CFG = CFG / 'kd-uniform_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'
RL_CFG = CFG / 'rlpkd_faster-rcnn_r18w32-r18w16_fpn_toy-coco.py'
LEVELS = ('P2', 'P3', 'P4', 'P5')
METRICS = ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_s', 'bbox_mAP_m', 'bbox_mAP_l')


def run(tool: str, *args: str, log: Path) -> float:
    """Run ``tools/<tool>`` with this interpreter; return its wall time (s)."""
    cmd = [sys.executable, str(ROOT / 'tools' / tool), *args]
    print('$', ' '.join(cmd), flush=True)
    start = time.time()
    with open(log, 'w') as out:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode:
        tail = ''.join(open(log).readlines()[-30:])
        sys.exit(f'{tool} failed (log: {log}):\n{tail}')
    return time.time() - start


def train(cfg: Path, work_dir: Path, *options: str) -> float:
    extra = ['--cfg-options', *options] if options else []
    return run('train.py', str(cfg), '--work-dir', str(work_dir), *extra,
               log=work_dir.with_suffix('.train.log'))


def test(cfg: Path, ckpt: Path, work_dir: Path, *options: str) -> dict:
    extra = ['--cfg-options', *options] if options else []
    run('test.py', str(cfg), str(ckpt), '--work-dir', str(work_dir), *extra,
        log=work_dir.with_suffix('.test.log'))
    metrics = json.loads((work_dir / 'metrics.json').read_text())
    out = {k: metrics[f'coco/{k}'] for k in METRICS}
    if 'selection/cost_fraction' in metrics:  # a learned selector's test-time decisions
        out['cost'] = metrics['selection/cost_fraction']
        out['rates'] = [metrics[f'selection/rate_{n}'] for n in LEVELS]
    return out


def num_params(cfg: Path) -> float:
    """Parameters (millions) of the model a plain mm config builds."""
    from mmengine.config import Config

    from rlpkd.models.utils import build_mm_model
    model = build_mm_model(dict(Config.fromfile(str(cfg)).model, _scope_='mmdet'))
    return sum(p.numel() for p in model.parameters()) / 1e6


def cached_teacher(work_dir: Path, cache: Path, data: Path) -> tuple[Path, float | None]:
    """Train the teacher unless a checkpoint for this config + data is cached."""
    key = hashlib.sha1()
    for path in sorted((ROOT / 'configs').rglob('*.py')):
        key.update(path.read_bytes())
    key.update((data / 'annotations' / 'instances_train.json').read_bytes())
    cached = cache / f'toy-teacher-{key.hexdigest()[:12]}.pth'
    if cached.exists():
        print(f'reusing cached teacher {cached}')
        return cached, None
    seconds = train(TEACHER_CFG, work_dir / 'teacher')
    cache.mkdir(parents=True, exist_ok=True)
    shutil.copy(work_dir / 'teacher' / 'epoch_12.pth', cached)
    return cached, seconds


def table(rows: list[dict]) -> str:
    head = ('| model | params (M) | train (s) | distill cost | P2 / P3 / P4 / P5 kept | mAP '
            '| AP50 | AP_s | AP_m | AP_l |\n|---|---|---|---|---|---|---|---|---|---|\n')
    lines = []
    for r in rows:
        train_s = 'cached' if r['train_s'] is None else f"{r['train_s']:.0f}"
        values = ' | '.join(f'{r[k]:.3f}' for k in METRICS)
        cost = '–' if r.get('cost') is None else f"{r['cost']:.3f}"
        rates = ' / '.join(f'{v:.2f}' for v in r['rates']) if r.get('rates') else '–'
        lines.append(f"| {r['name']} | {r['params_m']:.2f} | {train_s} | {cost} | {rates} "
                     f"| {values} |")
    return head + '\n'.join(lines) + '\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data', default='data/toy_coco')
    parser.add_argument('--cache', default=str(Path.home() / '.cache' / 'rlpkd' / 'demo'),
                        help='where the trained toy teacher is kept between runs')
    args = parser.parse_args()
    work_dir, data = ROOT / args.work_dir, ROOT / args.data
    work_dir.mkdir(parents=True, exist_ok=True)
    start = time.time()

    run('make_toy_data.py', 'det', '--out', str(data), log=work_dir / 'data.log')
    data_opts = (f'train_dataloader.dataset.data_root={data}/',
                 f'val_dataloader.dataset.data_root={data}/',
                 f'test_dataloader.dataset.data_root={data}/',
                 f'val_evaluator.ann_file={data}/annotations/instances_val.json',
                 f'test_evaluator.ann_file={data}/annotations/instances_val.json')
    teacher_ckpt, teacher_s = cached_teacher(work_dir, Path(args.cache), data)
    student_s = train(STUDENT_CFG, work_dir / 'student', *data_opts)
    distill_s = train(DISTILL_CFG, work_dir / 'distill', *data_opts,
                      f'model.teacher_ckpt={teacher_ckpt}')
    rl_opts = [o.replace('test_evaluator.', 'test_evaluator.0.') for o in data_opts]
    rl_s = train(RL_CFG, work_dir / 'rlpkd', *rl_opts, f'model.teacher_ckpt={teacher_ckpt}')

    exported = work_dir / 'distilled_student.pth'
    run('export_student.py', str(work_dir / 'distill' / 'epoch_12.pth'), str(exported),
        log=work_dir / 'export.log')
    rows = [
        dict(name='teacher R18-w32 FPN128', cfg=TEACHER_CFG, ckpt=teacher_ckpt,
             train_s=teacher_s),
        dict(name='student R18-w16 FPN64, alone', cfg=STUDENT_CFG,
             ckpt=work_dir / 'student' / 'epoch_12.pth', train_s=student_s),
        dict(name='student, uniform pyramid KD', cfg=DISTILL_CFG,
             ckpt=work_dir / 'distill' / 'epoch_12.pth', train_s=distill_s, cost=1.0),
        dict(name='student, RL-PyramidKD (λ = 0.5)', cfg=RL_CFG,
             ckpt=work_dir / 'rlpkd' / 'epoch_12.pth', train_s=rl_s),
    ]
    for row in rows:
        distiller = row['cfg'] in (DISTILL_CFG, RL_CFG)
        opts = rl_opts if row['cfg'] == RL_CFG else data_opts
        row.update(test(row['cfg'], row['ckpt'], work_dir / f"test_{row['cfg'].stem}",
                        *opts, f'model.teacher_ckpt={teacher_ckpt}'
                        if distiller else 'randomness.seed=0'))
        row['params_m'] = num_params(STUDENT_CFG if distiller else row['cfg'])
    exported_metrics = test(STUDENT_CFG, exported, work_dir / 'test_exported', *data_opts)
    if exported_metrics != {k: rows[2][k] for k in METRICS}:
        sys.exit(f'exported student disagrees with the distiller: {exported_metrics}')

    text = ('Toy-scale CPU numbers (2 cores, 240 train / 60 val 128x128 images, 12 epochs), '
            'COCO bbox metrics on the val split; made by `python tools/demo.py`. '
            '"distill cost": fraction of the all-level distillation FLOPs the deterministic '
            'policy spends on the val images; "kept": how often it keeps each level.\n\n'
            + table(rows) + f'\nTotal wall time: {time.time() - start:.0f} s '
            '(exported student checkpoint reproduces the distilled mAP exactly).\n')
    print('\n' + text)
    (work_dir / 'results.md').write_text(text)
    (work_dir / 'results.json').write_text(json.dumps(
        [{k: (str(v) if isinstance(v, Path) else v) for k, v in r.items()} for r in rows],
        indent=2))


if __name__ == '__main__':
    main()
