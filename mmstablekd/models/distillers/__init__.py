from .base import BaseDistiller
from .logit_distillers import DIST, VanillaKD
from .sskd import SSKD
from .stablekd import StableKD

__all__ = ['BaseDistiller', 'DIST', 'SSKD', 'StableKD', 'VanillaKD']
