"""mmstablekd: StableKD, DIST, SSKD and vanilla KD for the OpenMMLab 2.x stack.

Importing the package registers every component into mmpretrain's registries and enables
full unpickling of trusted MMEngine checkpoints (see :mod:`mmstablekd.utils.checkpoint`).
"""
from .utils import trust_checkpoints

trust_checkpoints()

from . import datasets, engine, models  # noqa: E402,F401

from .version import __version__  # noqa: E402

__all__ = ['__version__', 'datasets', 'engine', 'models', 'trust_checkpoints']
