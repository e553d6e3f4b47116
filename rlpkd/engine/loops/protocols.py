"""What rlpkd's hooks call on a train loop: the declared methods, and nothing else.

A hook never reaches into a loop's attributes; it checks (``isinstance``, the protocols
are ``runtime_checkable``) that ``runner.train_loop`` declares what it needs and calls
only that. :class:`~rlpkd.engine.loops.PhaseTrainLoop` (and the search loops built on
it) and :class:`~rlpkd.engine.loops.MetaTrainLoop` implement them.
"""
from __future__ import annotations

from typing import Dict, Protocol, runtime_checkable


@runtime_checkable
class LearnerStateLoop(Protocol):
    """A loop whose learners keep state outside the model (optimisers, pending
    experience, search state), saved in checkpoints by
    :class:`~rlpkd.engine.hooks.RLCheckpointHook`."""

    def learner_state_dict(self) -> dict:
        """Everything ``--resume`` needs to continue the learners exactly."""

    def load_learner_state_dict(self, state: dict) -> None:
        """Restore what :meth:`learner_state_dict` returned; ``KeyError`` naming what
        does not match the configured loop."""


@runtime_checkable
class LearnerStatsLoop(Protocol):
    """A loop that reports its learners' last update, logged by
    :class:`~rlpkd.engine.hooks.PolicyStatsHook`."""

    def learner_stats(self) -> Dict[str, float]:
        """Statistics of the learner update of the current iteration (empty if none)."""


def require(loop: object, protocol: type, hook: str) -> None:
    """``TypeError`` naming ``hook`` and the loop's type unless ``loop`` implements
    ``protocol``."""
    if not isinstance(loop, protocol):
        raise TypeError(f'{hook} needs a train loop with {protocol.__name__} '
                        f"(e.g. train_cfg.type='rlpkd.PhaseTrainLoop'), got "
                        f'{type(loop).__name__}')
