"""Learners: turn what a learned selector experienced into updates of its parameters.

- :mod:`~rlpkd.learners.experience`: typed experience records (``PolicyExperience``);
- :mod:`~rlpkd.learners.base`: the ``Learner`` interface;
- :mod:`~rlpkd.learners.ppo`: ``PPOLearner`` (RL-PyramidKD);
- :mod:`~rlpkd.learners.architecture`: ``ArchitectureLearner`` (DARTS-LS / GDAS-LS, the
  unrolled hypergradient) and ``EvolutionLearner`` (EA-LS, regularised evolution).
"""
from .base import Learner
from .experience import Experience, PolicyExperience
from .ppo import PPOLearner

__all__ = ['Experience', 'PolicyExperience', 'Learner', 'PPOLearner']
from .architecture import (  # noqa: E402
    ArchitectureExperience,
    ArchitectureLearner,
    EvolutionLearner,
    FitnessExperience,
)

__all__ += ['ArchitectureExperience', 'ArchitectureLearner', 'EvolutionLearner',
            'FitnessExperience']
