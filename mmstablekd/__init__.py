"""mmstablekd: StableKD, DIST, SSKD and vanilla KD for the OpenMMLab 2.x stack.

Importing the package registers every component into mmpretrain's registries and changes no
global default (environment, torch's load settings): checkpoints are read safely by
:mod:`mmstablekd.utils.checkpoint`.
"""
from . import datasets, engine, models  # noqa: F401

from .version import __version__  # noqa: E402,F401

__all__ = ['__version__', 'datasets', 'engine', 'models']
