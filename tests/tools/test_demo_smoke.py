"""tools/demo.py, the main job, end to end on a tiny classification setting: toy data,
the teacher (trained, then kept in the cache), student, uniform KD, RL-PyramidKD,
export (whose metrics must equal the distiller's) and the tables it writes (the teacher
weighed against the student alone)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def demo(tmp: Path) -> str:
    proc = subprocess.run(
        [sys.executable, str(ROOT / 'tools' / 'demo.py'), '--tasks', 'cls', '--num-train',
         '12', '--num-val', '6', '--work-dir', str(tmp / 'work'), '--cls-data',
         str(tmp / 'data'), '--cache', str(tmp / 'cache')],
        cwd=tmp, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def test_demo_writes_its_tables_and_caches_the_teacher(tmp_path):
    demo(tmp_path)
    rows = json.loads((tmp_path / 'work' / 'results.json').read_text())
    assert [r['name'] for r in rows][-1] == 'student, RL-PyramidKD (λ = 0.5)'
    assert len(rows) == 4 and all('top-1' in r for r in rows)
    assert rows[0]['train_s'] is not None  # the teacher was trained, not found cached
    assert len(list((tmp_path / 'cache').glob('toy-teacher-cls-*.pth'))) == 1
    text = (tmp_path / 'work' / 'results.md').read_text()
    assert '--num-train 12 --num-val 6' in text and '| student, uniform pyramid KD |' in text
    # the caption weighs the teacher against the student alone, with their numbers
    assert (f"teacher top-1 {rows[0]['top-1']:.3f} on the test set vs the student alone's "
            f"{rows[1]['top-1']:.3f} ± 0.000 (1 seed)") in text
