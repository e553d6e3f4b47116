"""benchmarks/known_answer.py end to end at the smallest size: its benchmark-only parts
reach the runner through ``custom_imports`` of ``rlpkd.benchmarking.parts`` (no
PYTHONPATH), the runs go through the real tools, and the result files are written."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_known_answer_benchmark_writes_its_results(tmp_path):
    out = tmp_path / 'known_answer'
    proc = subprocess.run(
        [sys.executable, str(ROOT / 'benchmarks' / 'known_answer.py'), '--seeds', '0',
         '--epochs', '3', '--num-train', '8', '--num-val', '4', '--methods', 'group oracle',
         'RL-PyramidKD, gap reward', '--work-dir', str(tmp_path / 'work'), '--out', str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    records = json.loads(out.with_suffix('.json').read_text())
    assert [r['method'] for r in records] == ['group oracle', 'RL-PyramidKD, gap reward']
    rl = records[1]
    assert 0.0 <= rl['match'] <= 1.0 and 'coco/bbox_mAP' in rl['metrics']
    run = tmp_path / 'work' / 'noise' / 'group_oracle' / 'seed_0'
    assert 'rlpkd.benchmarking.parts' in (run / 'config.py').read_text()
    assert (run / 'result.json').is_file()  # a finished run, reused by a second call
    text = out.with_suffix('.md').read_text()
    assert '| group oracle |' in text
    assert 'mAP on the val images' in text  # the teacher's own mAP, tested
    assert '| RL-PyramidKD, gap reward | 1 |' in text  # paired with the oracle by seed
