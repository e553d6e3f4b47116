"""Regularised (aging) evolution over per-level distillation-loss weights (EA-LS).

Real et al., "Regularized Evolution for Image Classifier Architecture Search", AAAI 2019,
Algorithm 1:

    population ← P random architectures (evaluated), history ← population
    repeat C times:
        sample ← S members of the population, drawn uniformly *with* replacement
        parent ← the fittest of sample
        child ← mutate(parent)            (one gene changed)
        evaluate child; append it to population and history
        remove the *oldest* member of population (not the worst: aging)
    return the fittest of history

A genome holds one choice index per level; ``choices[l]`` lists the loss weights level l
may get (default ``(0, 0.5, 1, 2)``: 4^L architectures, 256 for 4 levels, so the search
is meaningful beyond the 2^4 subsets). Weight 0 drops the level; its cost is then 0.
The search is driven ask / tell (:meth:`RegularizedEvolution.propose`,
:meth:`RegularizedEvolution.report`), so fitness can be measured by any loop (a short
proxy training from the warm-up checkpoint, then the held-out metric − λ · cost), and
its whole state — population, history, random generator — is a JSON-ready
:meth:`~RegularizedEvolution.state_dict`: a search resumes mid-way exactly.
"""
from __future__ import annotations

import random
from collections import deque
from dataclasses import asdict, dataclass
from typing import Deque, List, Optional, Sequence, Tuple

Genome = Tuple[int, ...]
DEFAULT_CHOICES = (0.0, 0.5, 1.0, 2.0)


@dataclass
class Individual:
    """One evaluated architecture: ``genome`` (choice index per level), ``fitness``,
    ``born`` (its index in the history: the lower, the older)."""

    genome: Genome
    fitness: float
    born: int


@dataclass
class Proposal:
    """An architecture to evaluate: ``genome``; for a child also the ``sample`` (history
    indices drawn) and its ``parent`` (history index); both ``None`` while the
    population is being initialised."""

    genome: Genome
    parent: Optional[int] = None
    sample: Optional[List[int]] = None


def genome_weights(genome: Genome, choices: Sequence[Sequence[float]]) -> List[float]:
    """``[L]`` loss weights of ``genome``."""
    return [float(choices[level][c]) for level, c in enumerate(genome)]


def genome_cost(genome: Genome, choices: Sequence[Sequence[float]],
                costs: Sequence[float]) -> float:
    """Cost fraction of the levels ``genome`` keeps (a non-zero weight)."""
    return sum(float(c) for w, c in zip(genome_weights(genome, choices), costs) if w != 0)


class RegularizedEvolution:
    """Aging evolution (module docstring; Real et al. 2019, Algorithm 1).

    Args:
        choices: per level, the loss weights it may get (``L`` sequences of >= 2).
        population_size: P.
        sample_size: S (<= P).
        seed: seed of the search's own random generator.
    """

    def __init__(self, choices: Sequence[Sequence[float]], population_size: int = 20,
                 sample_size: int = 5, seed: int = 0) -> None:
        if not choices or any(len(c) < 2 for c in choices):
            raise ValueError('every level needs at least two choices')
        if not 1 <= sample_size <= population_size:
            raise ValueError(f'need 1 <= sample_size <= population_size, got '
                             f'{sample_size}, {population_size}')
        self.choices = [tuple(float(w) for w in c) for c in choices]
        self.population_size, self.sample_size = population_size, sample_size
        self.rng = random.Random(seed)
        self.history: List[Individual] = []
        self.population: Deque[int] = deque()  # history indices, oldest first

    @property
    def space_size(self) -> int:
        size = 1
        for c in self.choices:
            size *= len(c)
        return size

    def random_genome(self) -> Genome:
        return tuple(self.rng.randrange(len(c)) for c in self.choices)

    def mutate(self, genome: Genome) -> Genome:
        """One mutation: a uniformly chosen level gets another of its choices."""
        level = self.rng.randrange(len(genome))
        other = self.rng.randrange(len(self.choices[level]) - 1)
        child = list(genome)
        child[level] = other if other < genome[level] else other + 1
        return tuple(child)

    def propose(self) -> Proposal:
        """The next architecture to evaluate: a random one until the population is
        full, then a mutated copy of the fittest of S members drawn with replacement."""
        if len(self.history) < self.population_size:
            return Proposal(self.random_genome())
        sample = self.rng.choices(list(self.population), k=self.sample_size)
        parent = max(sample, key=lambda i: self.history[i].fitness)
        return Proposal(self.mutate(self.history[parent].genome), parent, sample)

    def report(self, genome: Genome, fitness: float) -> Individual:
        """Add an evaluated architecture; the oldest member leaves a full population."""
        child = Individual(tuple(int(g) for g in genome), float(fitness), len(self.history))
        self.history.append(child)
        self.population.append(child.born)
        if len(self.population) > self.population_size:
            self.population.popleft()
        return child

    def best(self) -> Individual:
        """The fittest architecture of the whole history (Real et al.: the result)."""
        if not self.history:
            raise RuntimeError('no architecture evaluated yet')
        return max(self.history, key=lambda ind: ind.fitness)

    def members(self) -> List[Individual]:
        return [self.history[i] for i in self.population]

    def state_dict(self) -> dict:
        """JSON-ready: history, population and the generator's state."""
        version, internal, gauss = self.rng.getstate()
        return dict(history=[asdict(ind) for ind in self.history],
                    population=list(self.population),
                    rng=[version, list(internal), gauss])

    def load_state_dict(self, state: dict) -> None:
        self.history = [Individual(tuple(ind['genome']), float(ind['fitness']),
                                   int(ind['born'])) for ind in state['history']]
        self.population = deque(int(i) for i in state['population'])
        version, internal, gauss = state['rng']
        self.rng.setstate((version, tuple(internal), gauss))
