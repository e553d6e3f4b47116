"""Run a ``tools/*.py`` script as a subprocess, its output in a log file, and report
where it is (the latest mmengine training / test line) while it runs.

Used by ``tools/demo.py`` and ``tools/benchmark.py``: a run of several minutes shows
``epoch 3 [20/57] · eta 0:01:23`` on one refreshed status line instead of the
runner's full log, which stays in the log file.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

ROOT = Path(__file__).resolve().parents[2]

# mmengine LoggerHook lines: "Epoch(train)  [3][20/57]  ...  eta: 0:01:23" or
# "Iter(train) [120/400] ..."; test / val lines: "Epoch(test) [10/60]".
_PROGRESS = re.compile(
    r'(?:Epoch\((?P<mode>train|val|test)\)\s*(?:\[(?P<epoch>\d+)\])?'
    r'|Iter\((?P<imode>train|val|test)\)\s*)\[\s*(?P<i>\d+)/(?P<n>\d+)\]'
    r'(?:.*?eta: (?P<eta>[\d:]+(?: day[s]?, [\d:]+)?))?')


class ToolError(RuntimeError):
    """A tool exited with a non-zero status; ``log`` holds its output."""

    def __init__(self, tool: str, log: Path, tail: str) -> None:
        super().__init__(f'{tool} failed (log: {log}):\n{tail}')
        self.log = log
        self.tail = tail


def progress_of(line: str) -> Optional[str]:
    """A short status (``'train epoch 3 [20/57] · eta 0:01:23'``) from one mmengine log
    line, or None when the line is not a progress line."""
    match = _PROGRESS.search(line)
    if match is None:
        return None
    mode = match['mode'] or match['imode']
    where = f"epoch {match['epoch']} " if match['epoch'] else ''
    eta = f" · eta {match['eta']}" if match['eta'] else ''
    return f"{mode} {where}[{match['i']}/{match['n']}]{eta}"


def last_progress(log: Path, tail_bytes: int = 16384) -> Optional[str]:
    """:func:`progress_of` the last progress line among the last ``tail_bytes`` of ``log``."""
    try:
        with open(log, 'rb') as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - tail_bytes))
            lines = f.read().decode(errors='replace').splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        status = progress_of(line)
        if status is not None:
            return status
    return None


def run_tool(tool: str, args: Sequence[object], log: Path,
             on_progress: Optional[Callable[[str], None]] = None,
             poll_s: float = 1.0) -> float:
    """Run ``tools/<tool>`` with this interpreter from the repository root, stdout and
    stderr into ``log``; call ``on_progress(status)`` whenever the log's latest progress
    line changes. Returns the wall time (s).

    Raises:
        ToolError: the tool exited with a non-zero status (message: the log's last 30 lines).
    """
    cmd = [sys.executable, str(ROOT / 'tools' / tool), *map(str, args)]
    log.parent.mkdir(parents=True, exist_ok=True)
    start, shown = time.time(), None
    with open(log, 'w') as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            time.sleep(poll_s)
            status = last_progress(log) if on_progress is not None else None
            if status is not None and status != shown:
                on_progress(status)
                shown = status
    if proc.returncode:
        tail = ''.join(open(log, errors='replace').readlines()[-30:])
        raise ToolError(tool, log, tail)
    return time.time() - start
