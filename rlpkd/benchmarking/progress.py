"""Progress of a plan of runs: which run of how many, the current run's training
status, and the time left — one refreshed line on a terminal (rich), a line per event
otherwise (logs, CI), so the terminal is never flooded."""
from __future__ import annotations

import datetime
import statistics
import sys
import time
from typing import List, Optional

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def _clock(seconds: float) -> str:
    return str(datetime.timedelta(seconds=int(seconds)))


class PlanProgress:
    """Show ``done / total`` runs, the current run and an ETA for the plan.

    The ETA is the mean wall time of the runs executed so far (reused runs excluded)
    times the runs left. Use as a context manager; :meth:`status` is the callback to
    give :func:`rlpkd.benchmarking.launch.run_tool`.

    Args:
        total: number of runs in the plan.
        live: a refreshed rich progress bar (default: when stdout is a terminal);
            otherwise one printed line per run start / end and at most one status line
            per ``quiet_s`` seconds.
    """

    def __init__(self, total: int, live: Optional[bool] = None, quiet_s: float = 60.0) -> None:
        self.total, self.done = total, 0
        self.durations: List[float] = []
        self.live = sys.stdout.isatty() if live is None else live
        self.quiet_s, self._last_print = quiet_s, 0.0
        self.label, self._started = '', time.time()
        self._progress: Optional[Progress] = None

    def __enter__(self) -> 'PlanProgress':
        if self.live:  # plan: bar, k/n, elapsed, ETA; below it the current run's status
            self._progress = Progress(BarColumn(bar_width=20), MofNCompleteColumn(),
                                      TimeElapsedColumn(), TextColumn('{task.description}'),
                                      console=Console())
            self._task = self._progress.add_task('', total=self.total)
            self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()

    def eta(self) -> str:
        """Time left for the plan (``'?'`` before the first executed run ends)."""
        if not self.durations:
            return '?'
        return _clock(statistics.mean(self.durations) * (self.total - self.done))

    def start(self, label: str) -> None:
        """Run ``label`` begins."""
        self.label, self._started = label, time.time()
        self._show('starting', force=True)

    def status(self, status: str) -> None:
        """The current run reports ``status`` (e.g. ``'train epoch 3 [20/57] · eta 0:01:23'``)."""
        self._show(status)

    def finish(self, outcome: str, executed: bool = True) -> None:
        """The current run ended with ``outcome`` (``'ok'``, ``'reused'``, ``'FAILED …'``);
        ``executed``: it ran now (its wall time enters the ETA)."""
        if executed:
            self.durations.append(time.time() - self._started)
        self.done += 1
        if self._progress is not None:
            self._progress.advance(self._task)
        line = (f'[{self.done}/{self.total}] {self.label}: {outcome} '
                f'({_clock(time.time() - self._started)}; plan eta {self.eta()})')
        if self._progress is not None:
            self._progress.console.print(line)
        else:
            print(line, flush=True)

    def _show(self, status: str, force: bool = False) -> None:
        if self._progress is not None:  # the status first: a narrow terminal cuts the end
            self._progress.update(self._task, description=(
                f'plan eta {self.eta()} · {status} · {self.label}'))
        elif force or time.time() - self._last_print >= self.quiet_s:
            where = f'{self.label}: ' if self.label else ''
            print(f'[{self.done + 1}/{self.total}] {where}{status}', flush=True)
            self._last_print = time.time()
