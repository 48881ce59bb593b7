"""mmstablekd: StableKD and friends for the OpenMMLab 2.x stack."""
__version__ = '0.1.0'
