"""Where the configs and tools of mmstablekd are, in a checkout and in an installed package.

An installed wheel carries them as ``mmstablekd/.mim/{configs,tools}`` (OpenMMLab's layout,
see ``setup.py``); a source checkout has them at the top level, next to the package.
"""
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def mim_dir(kind: str) -> Path:
    """The ``configs`` or ``tools`` folder that belongs to the imported ``mmstablekd``.

    The checkout's own folder wins (an editable install links ``.mim`` to it anyway); otherwise
    the package's ``.mim/<kind>``.

    Args:
        kind (str): ``'configs'`` or ``'tools'``.

    Returns:
        Path: The folder.

    Raises:
        FileNotFoundError: Neither exists (e.g. a wheel built without them).
    """
    checkout = PACKAGE_DIR.parent
    candidates = [checkout / kind] if (checkout / 'setup.py').is_file() else []
    candidates.append(PACKAGE_DIR / '.mim' / kind)
    for folder in candidates:
        if folder.is_dir():
            return folder
    raise FileNotFoundError(f'mmstablekd ships its {kind}/ as {candidates[-1]}, which does not '
                            'exist: reinstall the package (pip install mmstablekd / a built '
                            'wheel), or run from a source checkout')


def config_path(relative: str) -> Path:
    """Path of ``configs/<relative>`` (e.g. ``'quickstart/kd_r18_r34_digits.py'``)."""
    return mim_dir('configs') / relative
