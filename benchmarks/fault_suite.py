"""Run the fault and bad-input suite and write what it tried and what survived.

The suite is every test marked ``bad_input`` (a bad config, file or argument: it must fail
early, naming the key or file, and lose nothing) or ``fault`` (kill -9 mid-phase then
``--resume``, a torn or failed checkpoint write, a non-finite loss), wherever it lives in
``tests/`` (the tests mirror the package). A parametrised test counts once per case.

    .venv/bin/python benchmarks/fault_suite.py     # ~10 min on 2 cores (3 kill-and-resume runs)

writes ``benchmarks/results/fault_suite.{json,md}``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKERS = ('bad_input', 'fault')


def collected(marker: str) -> list[str]:
    """Node ids of the tests carrying ``marker``."""
    proc = subprocess.run([sys.executable, '-m', 'pytest', 'tests', '-q', '--collect-only',
                           '-m', marker], cwd=ROOT, capture_output=True, text=True, check=True)
    return [line for line in proc.stdout.splitlines() if '::' in line]


def outcomes(junit: Path) -> dict[str, str]:
    """``'file::name[case]' -> 'passed' | 'failed' | 'skipped'`` from a JUnit XML report."""
    result = {}
    for case in ET.parse(junit).getroot().iter('testcase'):
        path = case.get('classname', '').replace('.', '/') + '.py'
        status = 'passed'
        for child in case:
            if child.tag in ('failure', 'error'):
                status = 'failed'
            elif child.tag == 'skipped':
                status = 'skipped'
        result[f'{path}::{case.get("name")}'] = status
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default=str(ROOT / 'benchmarks' / 'results' / 'fault_suite'),
                        help='output path without extension (.json and .md are written)')
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    junit = out.with_suffix('.xml')
    subprocess.run([sys.executable, '-m', 'pytest', 'tests', '-q', '-m', ' or '.join(MARKERS),
                    f'--junitxml={junit}'], cwd=ROOT, check=False)
    status = outcomes(junit)
    junit.unlink()
    summary = {}
    for marker in MARKERS:
        ids = collected(marker)
        counts = Counter(status.get(i, 'not run') for i in ids)
        summary[marker] = dict(tests=len(ids), **counts,
                               failed_ids=[i for i in ids if status.get(i) != 'passed'])
    out.with_suffix('.json').write_text(json.dumps(summary, indent=1) + '\n')
    out.with_suffix('.md').write_text(table(summary))
    print(table(summary))
    return summary


def table(summary: dict) -> str:
    rows = ['| marker | what | cases | passed |', '|---|---|---|---|']
    what = {'bad_input': 'bad configs, files, arguments: fail early naming the key/file',
            'fault': 'kill -9 + --resume, torn or failed writes, non-finite losses'}
    for marker, s in summary.items():
        rows.append(f'| `{marker}` | {what[marker]} | {s["tests"]} | {s.get("passed", 0)} |')
    return ('Fault and bad-input suite (CPU; `.venv/bin/python benchmarks/fault_suite.py`; '
            'every test marked `bad_input` or `fault` under tests/).\n\n' + '\n'.join(rows)
            + '\n')


if __name__ == '__main__':
    main()
