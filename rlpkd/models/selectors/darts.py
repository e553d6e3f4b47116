"""DARTS-LS: a continuous relaxation of the level subset (Liu et al., ICLR 2019)."""
from __future__ import annotations

from typing import Dict, Tuple

from torch import Tensor

from rlpkd.nas.architecture import use_probability
from rlpkd.registry import MODELS

from .architecture import ArchitectureSelector


@MODELS.register_module()
class DARTSSelector(ArchitectureSelector):
    """DARTS-LS: every level's loss is mixed with ``softmax(α_l)`` over {skip, use}, so
    the weight step distils level l of every sample with weight ``p(use)_l`` (DARTS
    eq. 2; the skip option contributes no loss); α learns from the unrolled
    hypergradient (:class:`ArchitectureSelector`). Arguments: see the base class.
    """

    method = 'DARTS-LS'

    def search_weights(self) -> Tuple[Tensor, Dict[str, object]]:
        return self.architecture.use_probability(), {}

    def relaxed_weights(self, alpha: Tensor, extras: Dict[str, object]) -> Tensor:
        return use_probability(alpha)
