"""Figures of what a learned level selector decides and how its training went.

Not imported by ``rlpkd`` itself (it needs matplotlib); ``tools/analyze_policy.py`` is
its command line. One module per job: :mod:`.decisions` (the selection metric's
per-image dump), :mod:`.selection_plots` (rates per group / class), :mod:`.examples`
(captioned image grid), :mod:`.pareto` (metric vs cost over benchmark runs),
:mod:`.scalars` and :mod:`.training_curves` (a run's scalar log).
"""
from .decisions import class_of_images, describe, load_decisions, rates_by
from .examples import plot_examples
from .pareto import ParetoPlot, ParetoPoint, load_records, pareto_front, pareto_points, plot_pareto
from .scalars import find_scalars_file, load_scalars
from .selection_plots import plot_selection_by_class, plot_selection_by_group
from .training_curves import plot_gradnorm_weights, plot_ppo_curves

__all__ = [
    'class_of_images', 'describe', 'load_decisions', 'rates_by', 'plot_examples',
    'ParetoPlot', 'ParetoPoint', 'load_records', 'pareto_front', 'pareto_points',
    'plot_pareto', 'find_scalars_file', 'load_scalars', 'plot_selection_by_class',
    'plot_selection_by_group', 'plot_gradnorm_weights', 'plot_ppo_curves',
]
