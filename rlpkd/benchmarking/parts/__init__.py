"""Registered components that only the benchmarks use (not the method's code path).

Imported by name from a benchmark's config, ``custom_imports=dict(imports=
['rlpkd.benchmarking.parts'])``, which registers them; ``import rlpkd`` does not.

- :mod:`.known_answer`: the known-answer benchmark's corrupted teacher and group oracle;
- :mod:`.control`: the curriculum control (RL-PyramidKD's schedule without a policy).
"""
from .control import CurriculumSelector
from .known_answer import (
                           CORRUPTED,
                           CORRUPTIONS,
                           KNOWN_ANSWER,
                           LAYOUTS,
                           GroupOracleSelector,
                           KnownAnswerDistiller,
                           KnownAnswers,
                           group_of,
                           image_key,
)

__all__ = ['CORRUPTED', 'CORRUPTIONS', 'KNOWN_ANSWER', 'LAYOUTS', 'CurriculumSelector',
           'GroupOracleSelector', 'KnownAnswerDistiller', 'KnownAnswers', 'group_of',
           'image_key']
