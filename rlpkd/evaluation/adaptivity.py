"""How sample-adaptive a set of level selections is (pure functions, numpy).

A selection is one image's binary mask over the L levels, i.e. one of 2^L *subsets*.
For N images with subsets ``s_i``, costs ``c_i`` and, where the data has one, an
attribute ``g_i`` (the toy data's size group):

- ``distinct_subsets``: how many different subsets were used (1 = not adaptive);
- ``subset_entropy``: ``H(S) = −Σ_s p(s) log2 p(s)`` in bits (0 = one subset for all);
- ``cost_std``: standard deviation of the per-image cost fraction;
- ``group_mi``: mutual information ``I(S; G) = H(S) − H(S | G)`` in bits, the plug-in
  estimate from the empirical joint distribution (Cover & Thomas, *Elements of
  Information Theory*, eq. 2.28); 0 when the decisions do not depend on the group, at
  most ``min(H(S), H(G))``;
- ``rate_<level>/<group>``: per-group selection rate of each level.
"""
from __future__ import annotations

from collections import Counter
from typing import Dict, Hashable, Optional, Sequence

import numpy as np


def entropy_bits(items: Sequence[Hashable]) -> float:
    """Plug-in entropy (bits) of the empirical distribution of ``items``."""
    counts = np.array(list(Counter(items).values()), dtype=np.float64)
    if counts.size == 0:
        return 0.0
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def mutual_information_bits(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Plug-in ``I(A; B) = H(A) + H(B) − H(A, B)`` in bits (paired sequences)."""
    if len(a) != len(b):
        raise ValueError(f'{len(a)} vs {len(b)} items')
    return max(0.0, entropy_bits(a) + entropy_bits(b) - entropy_bits(list(zip(a, b))))


def adaptivity(masks: np.ndarray, costs: np.ndarray, level_names: Sequence[str],
               groups: Optional[Sequence[Hashable]] = None) -> Dict[str, float]:
    """Adaptivity statistics (module docstring) of ``masks`` ``[N, L]`` (a mask entry
    counts as kept when non-zero) with per-image ``costs`` ``[N]`` and optional
    ``groups`` (N labels; ``None`` entries are left out of the group statistics)."""
    masks = np.asarray(masks) != 0
    subsets = [''.join('1' if v else '0' for v in row) for row in masks]
    out = dict(distinct_subsets=float(len(set(subsets))),
               subset_entropy=entropy_bits(subsets),
               cost_std=float(np.std(np.asarray(costs, dtype=np.float64))))
    if groups is None:
        return out
    known = [i for i, g in enumerate(groups) if g is not None]
    if not known:
        return out
    out['group_mi'] = mutual_information_bits([subsets[i] for i in known],
                                              [groups[i] for i in known])
    for group in sorted({groups[i] for i in known}, key=str):
        rows = masks[[i for i in known if groups[i] == group]]
        for name, rate in zip(level_names, rows.mean(axis=0)):
            out[f'rate_{name}/{group}'] = float(rate)
    return out
