"""Neural-architecture-search machinery of the NAS baselines (DARTS-LS, GDAS-LS, EA-LS).

- :mod:`~rlpkd.nas.unrolled`: the unrolled (second-order) hypergradient, exact and by
  finite differences, and the pyramid module as a function of its parameters;
- :mod:`~rlpkd.nas.architecture`: α ``[L, 2]``, the hard Gumbel-softmax sample, the
  temperature schedule, the subset derived under a budget;
- :mod:`~rlpkd.nas.split`: the held-out split of the training set (a data sampler);
- :mod:`~rlpkd.nas.evolution`: regularised (aging) evolution over per-level loss
  weights (EA-LS's search algorithm, ask / tell).

The selectors are :mod:`rlpkd.models.selectors.darts` / ``gdas`` / ``evolution``; the
learners (architecture step, evolution) are in :mod:`rlpkd.learners.architecture`; the
loops :class:`rlpkd.engine.loops.ArchitectureSearchLoop` and
:class:`rlpkd.engine.loops.EvolutionSearchLoop`; a found subset is retrained with
``FixedSelector(levels_from='<work_dir>/search_result.json')``.
"""
from .architecture import (
    LevelArchitecture,
    derive_subset,
    gumbel_noise,
    linear_temperature,
    straight_through_sample,
    use_probability,
)
from .evolution import Individual, Proposal, RegularizedEvolution, genome_cost, genome_weights
from .split import HeldOutSplitSampler, split_indices
from .unrolled import finite_difference_hypergradient, unrolled_hypergradient

__all__ = ['HeldOutSplitSampler', 'split_indices', 'LevelArchitecture', 'derive_subset',
           'gumbel_noise', 'linear_temperature', 'straight_through_sample',
           'use_probability', 'finite_difference_hypergradient',
           'unrolled_hypergradient', 'Individual', 'Proposal',
           'RegularizedEvolution', 'genome_cost', 'genome_weights']
