"""Packaging of mmstablekd (``pip install .``, ``pip wheel .``, ``pip install -e .``).

Like the OpenMMLab packages, the wheel carries the repository's ``configs/`` and ``tools/``
(and ``model-index.yml``) as ``mmstablekd/.mim/``, so that ``mmstablekd::<method>/<file>.py``
config paths and ``mim train mmstablekd ...`` work from an installed package. A wheel (or an
install from the sdist) gets copies, put into the build folder; an editable install gets
symbolic links ``mmstablekd/.mim/<name> -> ../../<name>`` in the checkout, so edits show at once.
"""
import os
import os.path as osp
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = osp.dirname(osp.abspath(__file__))
MIM_ITEMS = ('configs', 'tools', 'model-index.yml')
SKIP = shutil.ignore_patterns('__pycache__', '*.pyc')


def read_text(path: str) -> str:
    with open(osp.join(ROOT, path), encoding='utf-8') as f:
        return f.read()


def read_version() -> str:
    scope: dict = {}
    exec(compile(read_text('mmstablekd/version.py'), 'mmstablekd/version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(path: str) -> list:
    """Requirement lines of ``path`` (comments dropped, ``-r other.txt`` followed)."""
    reqs = []
    with open(osp.join(ROOT, path)) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line.startswith('-r '):
                reqs += parse_requirements(osp.join(osp.dirname(path), line[3:].strip()))
            elif line:
                reqs.append(line)
    return reqs


def _replace(target: str) -> None:
    if osp.islink(target) or osp.isfile(target):
        os.remove(target)
    elif osp.isdir(target):
        shutil.rmtree(target)


class BuildPyWithMim(build_py):
    """``build_py`` that also provides ``mmstablekd/.mim/{configs,tools,model-index.yml}``."""

    def run(self) -> None:
        super().run()
        if getattr(self, 'editable_mode', False):
            self._link_into_checkout()
        else:
            self._copy_into(osp.join(self.build_lib, 'mmstablekd', '.mim'))

    def _link_into_checkout(self) -> None:
        mim = osp.join(ROOT, 'mmstablekd', '.mim')
        os.makedirs(mim, exist_ok=True)
        for name in MIM_ITEMS:
            if osp.exists(osp.join(ROOT, name)):
                _replace(osp.join(mim, name))
                os.symlink(osp.join('..', '..', name), osp.join(mim, name))

    def _copy_into(self, mim: str) -> None:
        os.makedirs(mim, exist_ok=True)
        for name in MIM_ITEMS:
            src, dst = osp.join(ROOT, name), osp.join(mim, name)
            if not osp.exists(src):
                continue
            _replace(dst)
            if osp.isdir(src):
                shutil.copytree(src, dst, ignore=SKIP)
            else:
                shutil.copy2(src, dst)


setup(
    name='mmstablekd',
    version=read_version(),
    description='StableKD, DIST, SSKD and vanilla KD for the OpenMMLab 2.x stack',
    long_description=read_text('README.md'),
    long_description_content_type='text/markdown',
    keywords='knowledge distillation, StableKD, OpenMMLab, mmpretrain',
    packages=find_packages(include=['mmstablekd', 'mmstablekd.*']),
    python_requires='>=3.10',
    install_requires=parse_requirements('requirements/runtime.txt'),
    extras_require={'det': parse_requirements('requirements/det.txt')},
    license='Apache-2.0',
    classifiers=[
        'Programming Language :: Python :: 3',
        'Operating System :: OS Independent',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
    cmdclass={'build_py': BuildPyWithMim},
    zip_safe=False,
)
