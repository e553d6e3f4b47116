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

That layout (``layout='group'``) leaves most of the teacher right on every image, and
the feature-pyramid levels overlap: dropping P2 and P5 everywhere (a fixed subset) gets
most of the oracle's gain. ``layout='all_but_one'`` makes every level wrong on most
images and right on some: each image has *one* right level (the images of each split,
in file-name order, cycle through P2, P3, P4, P5) and every other level corrupted. The
known answer keeps only that level; every fixed subset distils a wrong level on at least
3/4 of the images (a single level) or on every image (two or more levels).

Registered by ``custom_imports=dict(imports=['rlpkd.benchmarking.parts'])`` (see
``benchmarks/known_answer.py``); ``import rlpkd`` alone does not register them.
"""
from __future__ import annotations

import json
import os.path as osp
import zlib
from typing import Dict, List, Optional, Sequence, Tuple

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
#: which levels of which images are wrong (module doc)
LAYOUTS = ('group', 'all_but_one')


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


def image_key(path: str) -> str:
    """``'<split dir>/<file name>'`` of an image path (the key of :func:`load_groups`)."""
    return f'{osp.basename(osp.dirname(path))}/{osp.basename(path)}'


def group_of(groups: Dict[str, str], sample) -> Optional[str]:
    return groups.get(image_key(sample.metainfo.get('img_path', '')))


class KnownAnswers:
    """Each image's known answer: the levels P2..P5 to keep (1) and drop (0) at λ = 0.

    Args:
        ann_files: the toy data's annotation files (train and val).
        layout: ``'group'`` (:data:`KNOWN_ANSWER` by size group) or ``'all_but_one'``
            (one right level per image, cycling P2..P5 over each split's images in
            file-name order; the rest wrong).
        num_levels: the pyramid's number of levels (4: P2..P5).

    Raises:
        ValueError: naming ``model.layout`` for an unknown layout.
    """

    def __init__(self, ann_files: Sequence[str], layout: str = 'group',
                 num_levels: int = 4) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f'model.layout must be one of {LAYOUTS}, got {layout!r}')
        self.groups = load_groups(ann_files)
        self.layout = layout
        counts: Dict[str, int] = {}
        self.right_level = {}
        for key in sorted(self.groups):
            split = key.split('/')[0]
            self.right_level[key] = counts.get(split, 0) % num_levels
            counts[split] = counts.get(split, 0) + 1
        self.num_levels = num_levels

    def answer(self, path: str) -> Tuple[int, ...]:
        """The kept levels of the image at ``path`` (all kept for an unknown image)."""
        key = image_key(path)
        if key not in self.groups:
            return (1, ) * self.num_levels
        if self.layout == 'group':
            return KNOWN_ANSWER[self.groups[key]]
        return tuple(int(level == self.right_level[key]) for level in range(self.num_levels))

    def wrong_levels(self, sample) -> List[int]:
        """Indices of the levels whose teacher features are wrong for ``sample``."""
        return [level for level, keep in
                enumerate(self.answer(sample.metainfo.get('img_path', ''))) if not keep]


@MODELS.register_module()
class KnownAnswerDistiller(PyramidDistiller):
    """A PyramidDistiller whose teacher level is noise for one size group (module doc).

    Args:
        ann_files: the toy data's annotation files (train and val), for the groups.
        corruption: ``'noise'`` (fixed per-image noise with the level's mean / std) or
            ``'flip'`` (the level's feature map mirrored left-right) or ``'erase'`` (its
            per-channel spatial mean everywhere).
        layout: which levels of which images are wrong (:class:`KnownAnswers`).
        **kwargs: :class:`PyramidDistiller` arguments.

    Raises:
        ValueError: naming ``model.corruption`` / ``model.layout`` for an unknown one.
    """

    def __init__(self, ann_files: Sequence[str], corruption: str = 'noise',
                 layout: str = 'group', **kwargs) -> None:
        if corruption not in CORRUPTIONS:
            raise ValueError(f'model.corruption must be one of {CORRUPTIONS}, '
                             f'got {corruption!r}')
        answers = KnownAnswers(ann_files, layout)
        super().__init__(**kwargs)
        self.answers = answers
        self.groups = answers.groups
        self.corruption = corruption

    def teacher_pyramid(self, inputs: Tensor, data_samples=None) -> List[Tensor]:
        feats = [f.clone() for f in super().teacher_pyramid(inputs, data_samples)]
        for i, sample in enumerate(data_samples or []):
            for level in self.answers.wrong_levels(sample):
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
    """Told each image's known answer, keeps its levels (a reference).

    Args:
        ann_files: the toy data's annotation files (train and val), for the groups.
        layout: which levels of which images are wrong (:class:`KnownAnswers`; the
            distiller's ``model.layout``).
    """

    def __init__(self, ann_files: Sequence[str], layout: str = 'group') -> None:
        super().__init__()
        self.answers = KnownAnswers(ann_files, layout)

    def forward(self, context: SelectionContext) -> Selection:
        device = context.student_feats[0].device
        masks = [self.answers.answer(s.metainfo.get('img_path', ''))
                 for s in context.data_samples]
        return Selection(mask=torch.tensor(masks, dtype=torch.float32, device=device))
