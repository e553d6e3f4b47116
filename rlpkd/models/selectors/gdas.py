"""GDAS-LS: one hard subset sampled per step (Dong & Yang, CVPR 2019)."""
from __future__ import annotations

from typing import Dict, Tuple

from torch import Tensor

from rlpkd.nas.architecture import USE, gumbel_noise, linear_temperature, straight_through_sample
from rlpkd.registry import MODELS

from .architecture import ArchitectureSelector


@MODELS.register_module()
class GDASSelector(ArchitectureSelector):
    """GDAS-LS: each weight step distils the levels of one subset, sampled per level with
    the hard Gumbel-softmax ``one_hot(argmax(α_l + g_l))`` over {skip, use} (GDAS eq. 3–5):
    level l is used with probability ``softmax(α_l)[use]`` and an unused level costs
    nothing. The architecture step differentiates the same sample (same noise ``g``)
    through the straight-through relaxation ``softmax((α + g) / τ)``, with τ annealed
    linearly from ``tau_max`` to ``tau_min`` over the search (GDAS: 10 → 0.1; the search
    loop reports the progress).

    Args:
        tau_max, tau_min: the temperature schedule's ends.
        **kwargs: :class:`ArchitectureSelector` arguments.
    """

    method = 'GDAS-LS'

    def __init__(self, tau_max: float = 10.0, tau_min: float = 0.1, **kwargs) -> None:
        super().__init__(**kwargs)
        if not 0 < tau_min <= tau_max:
            raise ValueError(f'GDAS temperatures need 0 < tau_min <= tau_max, got '
                             f'tau_min={tau_min}, tau_max={tau_max}')
        self.tau_max, self.tau_min = float(tau_max), float(tau_min)

    @property
    def temperature(self) -> float:
        """τ at the current search progress."""
        return linear_temperature(self.progress, self.tau_max, self.tau_min)

    def search_weights(self) -> Tuple[Tensor, Dict[str, object]]:
        """A fresh hard sample ``[L]`` in {0, 1} (noise from the global torch RNG, drawn
        on the CPU: the same sample on every device; saved in checkpoints)."""
        alpha = self.architecture.alpha
        extras = dict(noise=gumbel_noise(alpha.shape).to(alpha.device),
                      tau=self.temperature)
        return (alpha + extras['noise']).argmax(dim=-1).eq(USE).to(alpha.dtype), extras

    def relaxed_weights(self, alpha: Tensor, extras: Dict[str, object]) -> Tensor:
        return straight_through_sample(alpha, extras['noise'], extras['tau'])[..., USE]

    def search_result(self) -> dict:
        return dict(super().search_result(), temperature=self.temperature)
