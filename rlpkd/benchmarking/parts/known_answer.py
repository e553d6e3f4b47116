"""The known-answer benchmark's parts (benchmark code, not the method's code path).

On the toy COCO data every image belongs to a size group (``small`` / ``large`` /
``mixed`` objects). :class:`KnownAnswerDistiller` makes one teacher level harmful per
group: it replaces the teacher's ``P5`` by noise on ``large`` images and ``P2`` on
``small`` images (``mixed`` untouched): the level each group's objects are detected on
(the toy RoI extractor maps the 6-14 px small objects to P2 and the 58-115 px large
ones to P4/P5; the anchors of P2 / P5 are 12 / 96 px), so the wrong target is harmful
for that group (a first version corrupted the *other* level of each group: P2 on large
images, P5 on small ones; it did not hurt the student measurably). The noise is fixed
per image and level (seeded by the image), with the replaced level's mean and standard
deviation, so it is a consistent wrong target (``corruption='noise'``). With
``corruption='flip'`` the replaced level is the teacher's own feature map mirrored
left-right: real features with the statistics and structure of the image, but with the
objects at the wrong places — a teacher that is confidently wrong about *where* the
objects are. With ``corruption='erase'`` it is the level's per-channel spatial mean
everywhere: a teacher that sees no object on that level of that image (the student can
fit it only by suppressing the level's objects, which the other groups' images need).
With λ = 0 the known answer is: keep
every level except the corrupted one of the image's group (:data:`KNOWN_ANSWER`).
:class:`GroupOracleSelector` is told the group and selects exactly that (a reference no
fixed subset can reach).

Registered by ``custom_imports=dict(imports=['rlpkd.benchmarking.parts'])`` (see
``benchmarks/known_answer.py``); ``import rlpkd`` alone does not register them.
"""
from __future__ import annotations

import json
import os.path as osp
import zlib
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor

from rlpkd.models import PyramidDistiller
from rlpkd.models.selectors import LevelSelector, Selection, SelectionContext
from rlpkd.registry import MODELS

#: corrupted teacher level per size group
CORRUPTED = {'large': 'P5', 'small': 'P2'}
#: how the corrupted level's teacher features are replaced (class docstring)
CORRUPTIONS = ('noise', 'flip', 'erase')
#: the kept levels P2..P5 the known answer gives each group (λ = 0)
KNOWN_ANSWER = {'large': (1, 1, 1, 0), 'small': (0, 1, 1, 1), 'mixed': (1, 1, 1, 1)}


def load_groups(ann_files: Sequence[str]) -> Dict[str, str]:
    """``{'<split dir>/<file name>': size group}`` from toy COCO annotation files."""
    groups = {}
    for path in ann_files:
        with open(path) as f:
            data = json.load(f)
        split = osp.basename(path)[len('instances_'):-len('.json')]
        groups.update({f"{split}/{img['file_name']}": img['size_group']
                       for img in data['images']})
    return groups


def group_of(groups: Dict[str, str], sample) -> Optional[str]:
    path = sample.metainfo.get('img_path', '')
    return groups.get(f'{osp.basename(osp.dirname(path))}/{osp.basename(path)}')


@MODELS.register_module()
class KnownAnswerDistiller(PyramidDistiller):
    """A PyramidDistiller whose teacher level is noise for one size group (module doc).

    Args:
        ann_files: the toy data's annotation files (train and val), for the groups.
        corruption: ``'noise'`` (fixed per-image noise with the level's mean / std) or
            ``'flip'`` (the level's feature map mirrored left-right) or ``'erase'`` (its
            per-channel spatial mean everywhere).
        **kwargs: :class:`PyramidDistiller` arguments.

    Raises:
        ValueError: naming ``model.corruption`` for an unknown corruption.
    """

    def __init__(self, ann_files: Sequence[str], corruption: str = 'noise',
                 **kwargs) -> None:
        if corruption not in CORRUPTIONS:
            raise ValueError(f'model.corruption must be one of {CORRUPTIONS}, '
                             f'got {corruption!r}')
        super().__init__(**kwargs)
        self.groups = load_groups(ann_files)
        self.corruption = corruption

    def teacher_pyramid(self, inputs: Tensor, data_samples=None) -> List[Tensor]:
        feats = [f.clone() for f in super().teacher_pyramid(inputs, data_samples)]
        for i, sample in enumerate(data_samples or []):
            group = group_of(self.groups, sample)
            if group not in CORRUPTED:
                continue
            level = self.level_names.index(CORRUPTED[group])
            feats[level][i] = self._corrupt(feats[level][i], sample, level)
        return feats

    def _corrupt(self, target: Tensor, sample, level: int) -> Tensor:
        """The wrong target ``[C, H, W]`` that replaces ``target`` for ``sample``."""
        if self.corruption == 'flip':
            return target.flip(-1)
        if self.corruption == 'erase':
            return target.mean(dim=(-2, -1), keepdim=True).expand_as(target)
        seed = zlib.crc32(sample.metainfo['img_path'].encode()) + level
        gen = torch.Generator().manual_seed(seed)
        noise = torch.randn(target.shape, generator=gen).to(target)
        return target.mean() + target.std() * noise


@MODELS.register_module()
class GroupOracleSelector(LevelSelector):
    """Told each image's size group, keeps the known answer's levels (a reference).

    Args:
        ann_files: the toy data's annotation files (train and val), for the groups.
    """

    def __init__(self, ann_files: Sequence[str]) -> None:
        super().__init__()
        self.groups = load_groups(ann_files)

    def forward(self, context: SelectionContext) -> Selection:
        device = context.student_feats[0].device
        masks = [KNOWN_ANSWER.get(group_of(self.groups, s), (1, 1, 1, 1))
                 for s in context.data_samples]
        return Selection(mask=torch.tensor(masks, dtype=torch.float32, device=device))
