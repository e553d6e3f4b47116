"""Matplotlib figures without pyplot: no global state, no display backend needed."""
from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure


def new_figure(width: float, height: float) -> Figure:
    """A figure of ``width`` x ``height`` inches, laid out to fit its labels."""
    return Figure(figsize=(width, height), layout='constrained')


def save_figure(fig: Figure, out_file: str | Path, dpi: int = 120) -> Path:
    """Write ``fig`` as an image (PNG for ``*.png``; rendered by Agg), creating the
    folder; return the path."""
    path = Path(out_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path
