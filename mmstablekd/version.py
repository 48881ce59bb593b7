"""The one place the version is written: ``setup.py`` reads this file and
``mmstablekd.__version__`` re-exports it."""
__version__ = '0.1.0'
version_info = tuple(int(x) if x.isdigit() else x for x in __version__.split('.'))
