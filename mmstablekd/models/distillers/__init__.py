from .base import BaseDistiller
from .logit_distillers import DIST, LogitDistiller, VanillaKD
from .sskd import SSKD
from .stablekd import StableKD

__all__ = ['BaseDistiller', 'DIST', 'LogitDistiller', 'SSKD', 'StableKD', 'VanillaKD']
