"""The model of a meta-training run (phase 4): the meta-policy alone."""
from __future__ import annotations

from typing import Optional

from mmengine.model import BaseModel

from rlpkd.registry import MODELS
from rlpkd.rl.policy import PolicyNetwork
from rlpkd.rl.state import StateLayout


@MODELS.register_module()
class MetaPolicy(BaseModel):
    """The model of a meta-training run: the meta-policy alone, ``self.policy``.

    Args:
        policy: :class:`~rlpkd.rl.policy.PolicyNetwork` arguments, as the tasks'
            ``model.selector.policy`` (``hidden_dim`` and ``use_lstm`` must match theirs:
            checked when the loop builds the tasks).
        num_levels: ``L`` of the tasks' pyramids; the state is
            :meth:`StateLayout.pyramid` ``(L)`` (1542 entries for 4 levels).
    """

    def __init__(self, policy: Optional[dict] = None, num_levels: int = 4,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        layout = StateLayout.pyramid(num_levels)
        self.policy = PolicyNetwork(state_dim=layout.dim, num_layers=num_levels,
                                    layout=layout, **(policy or {}))

    def forward(self, *args, **kwargs):
        raise RuntimeError("MetaPolicy is trained by train_cfg.type='rlpkd.MetaTrainLoop' "
                           'and has no forward; a task runs its own distiller')
