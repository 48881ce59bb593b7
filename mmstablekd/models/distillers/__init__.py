from .base import BaseDistiller
from .stablekd import StableKD

__all__ = ['BaseDistiller', 'StableKD']
