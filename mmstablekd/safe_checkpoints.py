"""Opt-in for MMEngine's own tools: read full training checkpoints with ``weights_only=True``.

Under torch >= 2.6 ``torch.load`` defaults to ``weights_only=True``, and MMEngine's loader
(used by mmpretrain's and mmdet's ``tools/train.py --resume``, ``load_from`` and
``tools/test.py``) then refuses a full checkpoint: it holds MMEngine objects (the message
hub's ``HistoryBuffer``, numpy scalars, ``OneCycleLR``'s annealing function). Importing this
module adds mmstablekd's restricted allow-list -- the very list its own loader uses,
:func:`mmstablekd.utils.checkpoint.allowed_globals` -- to torch's safe globals for the rest of
the process, so those loads succeed and still execute no code from the file.

Name it in the config (the usual way to extend MMEngine's tools)::

    custom_imports = dict(imports=['mmstablekd', 'mmstablekd.safe_checkpoints'],
                          allow_failed_imports=False)

or call :func:`register` once in your own script. ``import mmstablekd`` alone does not do
this: it changes no global state of torch.
"""
import torch

from mmstablekd.utils.checkpoint import allowed_globals

__all__ = ['register']


def register() -> None:
    """Add :func:`~mmstablekd.utils.checkpoint.allowed_globals` to torch's safe globals.

    Idempotent (torch keeps the entries in a set). Lasts for the process.
    """
    torch.serialization.add_safe_globals(allowed_globals())


register()
