"""Learners: turn what a learned selector experienced into updates of its parameters.

- :mod:`~rlpkd.learners.experience`: every typed experience record (``PolicyExperience``,
  ``ArchitectureExperience``, ``FitnessExperience``);
- :mod:`~rlpkd.learners.base`: the ``Learner`` interface;
- :mod:`~rlpkd.learners.ppo`: ``PPOLearner`` (RL-PyramidKD);
- :mod:`~rlpkd.learners.level_credit`: ``LevelCreditLearner`` (RL-PyramidKD with
  per-level counterfactual credit);
- :mod:`~rlpkd.learners.architecture`: ``ArchitectureLearner`` (DARTS-LS / GDAS-LS, the
  unrolled hypergradient) and ``EvolutionLearner`` (EA-LS, regularised evolution).
"""
from .architecture import ArchitectureLearner, EvolutionLearner
from .base import Learner
from .experience import (
    ArchitectureExperience,
    Experience,
    FitnessExperience,
    LevelCreditExperience,
    PolicyExperience,
)
from .level_credit import LevelCreditLearner
from .ppo import PPOLearner

__all__ = ['ArchitectureExperience', 'ArchitectureLearner', 'EvolutionLearner', 'Experience',
           'FitnessExperience', 'Learner', 'LevelCreditExperience', 'LevelCreditLearner',
           'PPOLearner', 'PolicyExperience']
