"""rlpkd: learned, sample-adaptive knowledge distillation of feature pyramids.

An mmengine plugin; see README.md for the tested OpenMMLab stack.
"""
import os
import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


#: mmengine looks a ``pkg::`` config up in ``<pkg>/.mim/model-index.yml`` (the model-zoo
#: metafiles) before it reads ``<pkg>/.mim/configs``; rlpkd has no model zoo: empty index.
MODEL_INDEX = 'Import: []\n'


class BuildWithConfigs(build_py):
    """Ship ``configs/`` inside the package as ``rlpkd/.mim/configs`` (+ an empty
    ``model-index.yml``), so ``rlpkd::path/to/cfg.py`` resolves as ``mmdet::`` does.
    Editable installs get a symlink made by :func:`_link_mim` instead."""

    def run(self) -> None:
        super().run()
        mim = Path(self.build_lib) / 'rlpkd' / '.mim'
        if (mim / 'configs').exists():
            shutil.rmtree(mim / 'configs')
        shutil.copytree(ROOT / 'configs', mim / 'configs')
        (mim / 'model-index.yml').write_text(MODEL_INDEX)


def _link_mim() -> None:
    mim = ROOT / 'rlpkd' / '.mim'
    mim.mkdir(exist_ok=True)
    link = mim / 'configs'
    if not link.exists():
        os.symlink(Path('..') / '..' / 'configs', link)
    (mim / 'model-index.yml').write_text(MODEL_INDEX)


_link_mim()

STACK = [
    'mmengine==0.11.0rc3',  # 0.10.x cannot load Runner checkpoints under torch>=2.6
    'mmcv==2.1.0',          # mmdet 3.3 / mmseg 1.2 assert mmcv<2.2; built by tools/setup_env.sh
    'opencv-python',        # mmcv needs cv2, but its source-built wheel does not declare it
]

setup(
    name='rlpkd',
    version='0.1.0',
    description='Learned, sample-adaptive knowledge distillation of feature '
                'pyramids (OpenMMLab plugin)',
    long_description=(ROOT / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(include=['rlpkd', 'rlpkd.*']),
    include_package_data=True,
    install_requires=['torch>=2.0', 'numpy', 'matplotlib', 'rich', *STACK],
    extras_require={
        'det': ['mmdet==3.3.0', 'pycocotools'],
        'seg': ['mmsegmentation==1.2.2', 'ftfy', 'regex'],
        'cls': ['mmpretrain==1.2.0', 'torchvision'],
        'all': ['mmdet==3.3.0', 'pycocotools', 'mmsegmentation==1.2.2',
                'ftfy', 'regex', 'mmpretrain==1.2.0', 'torchvision'],
        'dev': ['pytest', 'ruff', 'tensorboard',
                'stable-baselines3'],  # reference GAE in tests/rl
    },
    cmdclass={'build_py': BuildWithConfigs},
    zip_safe=False,
)
