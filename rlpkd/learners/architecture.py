"""Learners of the NAS baselines: the architecture step (DARTS-LS, GDAS-LS) and
regularised evolution (EA-LS).

**ArchitectureLearner.** The selector
(:class:`~rlpkd.models.selectors.ArchitectureSelector`) computes the unrolled
hypergradient of the held-out task loss (:mod:`rlpkd.nas.unrolled`) and returns it as
an :class:`ArchitectureExperience`; an update averages the pending
hypergradients (over records and ranks), adds the gradient of the cost regulariser
``λ · Σ_l p(use)_l · cost_l`` and takes one Adam step on α with the DARTS paper's
settings (Liu et al., ICLR 2019, sec. 3.1.2: lr 3e-4, betas (0.5, 0.999), weight
decay 1e-3; GDAS uses the same).

**EvolutionLearner.** Regularised (aging) evolution (Real et al., AAAI 2019;
:class:`rlpkd.nas.RegularizedEvolution`) of the per-level loss weights of an
:class:`~rlpkd.models.selectors.EvolutionSelector`: one update per evaluated candidate
(a :class:`FitnessExperience`), ``fitness = −val_loss − λ · cost``; the update reports
it to the evolution and sets the next proposal (and the fittest so far) in the selector.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Dict, Sequence

import torch

from rlpkd.nas.evolution import Individual, Proposal, RegularizedEvolution, genome_weights
from rlpkd.registry import LEARNERS
from rlpkd.utils import mean_over_ranks

from .base import Learner
from .experience import ArchitectureExperience, FitnessExperience


@LEARNERS.register_module()
class ArchitectureLearner(Learner):
    """Adam on α from the selector's hypergradients plus ``cost_weight · ∇_α E[cost]``.

    Args:
        selector: an :class:`~rlpkd.models.selectors.ArchitectureSelector` (filled in by
            the loop).
        lr, betas, weight_decay: Adam's (DARTS: 3e-4, (0.5, 0.999), 1e-3).
        cost_weight: λ of the cost regulariser ``λ · Σ_l p(use)_l · cost_l`` (cost
            fractions of :class:`~rlpkd.pyramid.cost_model.LevelCostModel`).

    Logged (``train/nas/...``): ``val_loss``, ``expected_cost``, ``hypergradient_norm``,
    ``p_use_<level>`` (after the step), ``weight_<level>`` (mean level weight of the
    recorded weight steps).
    """

    experience_type = ArchitectureExperience
    log_prefix = 'nas'

    def __init__(self, selector, lr: float = 3e-4, betas: Sequence[float] = (0.5, 0.999),
                 weight_decay: float = 1e-3, cost_weight: float = 0.0) -> None:
        super().__init__(selector)
        self.cost_weight = float(cost_weight)
        self.optimizer = torch.optim.Adam(selector.learnable().parameters(), lr=lr,
                                          betas=tuple(betas), weight_decay=weight_decay)

    def learn(self, experience: ArchitectureExperience) -> Dict[str, float]:
        # the same mean on every rank: α stays identical (checked by Learner.update)
        hyper = mean_over_ranks([experience.hypergradient.mean(dim=0)])[0]
        with self.selector.trainable() as architecture:
            (alpha,) = list(architecture.parameters())
            cost = self.selector.expected_cost()
            (self.cost_weight * cost).backward()
            alpha.grad = alpha.grad + hyper.to(alpha.device, alpha.dtype)
            self.optimizer.step()
        stats = dict(val_loss=experience.val_loss.mean(), expected_cost=cost.detach(),
                     hypergradient_norm=hyper.norm())
        names = self.selector.level_names
        p_use = self.selector.use_probability()
        stats.update({f'p_use_{n}': p for n, p in zip(names, p_use)})
        stats.update({f'weight_{n}': w for n, w in
                      zip(names, experience.weights.float().mean(dim=0))})
        return stats


@LEARNERS.register_module()
class EvolutionLearner(Learner):
    """Regularised evolution of the selector's level weights (module docstring).

    Under DDP every rank trains the same candidate on its shard (data-parallel) and
    scores it on its held-out shard; the held-out loss is averaged over ranks, so every
    rank reports the same fitness to an identically seeded evolution and proposes the
    same next candidate (checked after every update by :meth:`Learner.update`).

    Args:
        selector: an :class:`~rlpkd.models.selectors.EvolutionSelector` (filled in by
            the loop).
        population_size, sample_size: P and S of Real et al.'s Algorithm 1.
        cost_weight: λ of ``fitness = −val_loss − λ · cost`` (cost fraction in [0, 1]).
        seed: seed of the evolution's own generator (the same on every rank).

    Logged (``train/ea/...``): ``fitness``, ``val_loss``, ``cost`` of the evaluated
    candidate, ``best_fitness`` (of the history), ``population_fitness`` (mean),
    ``evaluated`` (history length).
    """

    experience_type = FitnessExperience
    log_prefix = 'ea'

    def __init__(self, selector, population_size: int = 20, sample_size: int = 5,
                 cost_weight: float = 0.0, seed: int = 0) -> None:
        super().__init__(selector)
        self.cost_weight = float(cost_weight)
        self.evolution = RegularizedEvolution(selector.choices, population_size,
                                              sample_size, seed)
        self.propose()

    def propose(self) -> None:
        """Ask the evolution for the next candidate and put it into the selector."""
        self.proposal = self.evolution.propose()
        self.selector.set_candidate(self.weights(self.proposal.genome))

    def weights(self, genome: Sequence[int]) -> list:
        return genome_weights(tuple(genome), self.evolution.choices)

    def learn(self, experience: FitnessExperience) -> Dict[str, float]:
        if len(experience) != 1:
            raise RuntimeError(f'EvolutionLearner scores one candidate per update, got '
                               f'{len(experience)} records (update_interval must be 1)')
        val_loss = float(mean_over_ranks([experience.val_loss.mean()])[0])
        cost = float(experience.cost.mean())
        fitness = -val_loss - self.cost_weight * cost
        self.evolution.report(self.proposal.genome, fitness)
        best = self.evolution.best()
        self.selector.set_best(self.weights(best.genome))
        self.propose()
        members = self.evolution.members()
        return dict(fitness=fitness, val_loss=val_loss, cost=cost, best_fitness=best.fitness,
                    population_fitness=sum(m.fitness for m in members) / len(members),
                    evaluated=len(self.evolution.history))

    def describe(self, individual: Individual) -> dict:
        """An evaluated candidate for ``search_result.json``: ``born``, ``genome``,
        ``weights`` by level, ``fitness``."""
        return dict(born=individual.born, genome=list(individual.genome),
                    weights=dict(zip(self.selector.level_names,
                                     self.weights(individual.genome))),
                    fitness=individual.fitness)

    def search_summary(self) -> dict:
        """The search's state for ``search_result.json``: ``fitness`` of the result,
        ``search_space`` size, P, S, λ, ``population`` and ``history`` (oldest first)."""
        evo = self.evolution
        return dict(fitness=evo.best().fitness, search_space=evo.space_size,
                    population_size=evo.population_size, sample_size=evo.sample_size,
                    cost_weight=self.cost_weight,
                    population=[self.describe(m) for m in evo.members()],
                    history=[self.describe(i) for i in evo.history])

    def state_dict(self) -> dict:
        return dict(super().state_dict(), evolution=self.evolution.state_dict(),
                    proposal=asdict(self.proposal))

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.evolution.load_state_dict(state['evolution'])
        proposal = state['proposal']
        self.proposal = Proposal(tuple(proposal['genome']), proposal['parent'],
                                 proposal['sample'])
        self.selector.set_candidate(self.weights(self.proposal.genome))
        if self.evolution.history:
            self.selector.set_best(self.weights(self.evolution.best().genome))
