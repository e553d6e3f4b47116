"""The feature pyramid itself, below every method that selects levels of it.

- :mod:`~rlpkd.pyramid.taps`: where a pyramid comes from (``PyramidTap``: module outputs);
- :mod:`~rlpkd.pyramid.teacher_input`: the teacher's own input normalisation;
- :mod:`~rlpkd.pyramid.pair`: student and teacher pyramids matched level by level, their
  connectors and level loss, and the one build-time probe (``PyramidPair``);
- :mod:`~rlpkd.pyramid.functional`: the pyramid module as a function of its parameters
  (the RL reward's lookahead and the NAS hypergradient);
- :mod:`~rlpkd.pyramid.cost_model`: the FLOPs of distilling each level.

It imports only :mod:`rlpkd.registry` and :mod:`rlpkd.utils`; ``rl``, ``nas``,
``learners`` and ``models`` build on it (``tests/test_layers.py``).
"""
from .cost_model import LevelCostModel
from .functional import PyramidFunctional, TaskInputs
from .pair import PyramidPair, PyramidProbe
from .taps import PyramidTap
from .teacher_input import Normalisation, TeacherInput

__all__ = ['LevelCostModel', 'Normalisation', 'PyramidFunctional', 'PyramidPair',
           'PyramidProbe', 'PyramidTap', 'TaskInputs', 'TeacherInput']
