"""The one place where mmstablekd changes how checkpoints are unpickled.

torch >= 2.6 defaults to ``torch.load(weights_only=True)``; mmengine 0.10.7 calls ``torch.load``
without ``weights_only`` and its checkpoints pickle mmengine objects (``HistoryBuffer`` in the
message hub, numpy scalars in ``meta``), so ``load_checkpoint`` and ``Runner(resume=True)`` fail
with ``UnpicklingError: Unsupported global``.

:func:`trust_checkpoints` restores the pre-2.6 behaviour through torch's own switch,
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``. Unpickling can run arbitrary code: only load
checkpoints you trust. Set ``MMSTABLEKD_WEIGHTS_ONLY=1`` to keep torch's default instead.
"""
import os


def trust_checkpoints() -> bool:
    """Let ``torch.load`` unpickle full MMEngine checkpoints (see module docstring).

    Returns:
        bool: True if full unpickling is enabled after the call.
    """
    if os.environ.get('MMSTABLEKD_WEIGHTS_ONLY', '0') in ('1', 'true', 'yes'):
        return False
    os.environ.setdefault('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    return os.environ['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'] in ('1', 'y', 'yes', 'true')
