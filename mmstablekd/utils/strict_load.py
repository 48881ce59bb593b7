"""Load weights strictly: a checkpoint that does not fit the model is an error listing why.

MMEngine's ``load_from`` loads non-strictly and only logs mismatches; evaluating or distilling
from a checkpoint that silently did not load is worse than failing. :func:`state_dict_of`
finds the weights in a loaded checkpoint, :func:`compare_state_dict` lists missing,
unexpected and shape-mismatched keys, :func:`check_fits` turns them into one message.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import torch
import torch.nn as nn

from .checkpoint import CheckpointError

_SHOWN = 8


def state_dict_of(checkpoint, source: str) -> Dict[str, torch.Tensor]:
    """The weights of a loaded checkpoint: its ``state_dict`` entry or the dict itself.

    A leading ``module.`` (DataParallel/DDP) is stripped, as MMEngine does.

    Args:
        checkpoint: What ``torch.load`` returned.
        source (str): How to name the file in errors.

    Raises:
        CheckpointError: if it holds no tensors at all.
    """
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f'{source} holds a {type(checkpoint).__name__}, expected a dict '
                              'with a "state_dict"')
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, dict) or not any(isinstance(v, torch.Tensor)
                                              for v in state.values()):
        raise CheckpointError(f'{source} holds no weights: no tensors in its '
                              f'{"state_dict" if "state_dict" in checkpoint else "top level"} '
                              f'(top-level keys: {sorted(map(str, checkpoint))[:10]})')
    return {(k[len('module.'):] if k.startswith('module.') else k): v for k, v in state.items()}


@dataclass
class KeyMismatch:
    """How a state dict differs from a model's.

    Attributes:
        missing (list[str]): Model keys the checkpoint lacks.
        unexpected (list[str]): Checkpoint keys the model lacks.
        shapes (list[tuple]): ``(key, checkpoint shape, model shape)`` of differing tensors.
    """

    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    shapes: List[Tuple[str, tuple, tuple]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.shapes)

    def format(self) -> str:
        """One line per kind of mismatch, at most a few keys each."""

        def listed(items: List[str]) -> str:
            more = f' ... and {len(items) - _SHOWN} more' if len(items) > _SHOWN else ''
            return ', '.join(items[:_SHOWN]) + more

        parts = []
        if self.missing:
            parts.append(f'{len(self.missing)} missing keys: {listed(self.missing)}')
        if self.unexpected:
            parts.append(f'{len(self.unexpected)} unexpected keys: {listed(self.unexpected)}')
        if self.shapes:
            parts.append(f'{len(self.shapes)} shape mismatches: ' + listed(
                [f'{k} (checkpoint {list(a)}, model {list(b)})' for k, a, b in self.shapes]))
        return '; '.join(parts)


def compare_state_dict(model: nn.Module, state_dict: Dict[str, torch.Tensor]) -> KeyMismatch:
    """Missing, unexpected and shape-mismatched keys of ``state_dict`` for ``model``."""
    own = model.state_dict()
    return KeyMismatch(
        missing=[k for k in own if k not in state_dict],
        unexpected=[k for k in state_dict if k not in own],
        shapes=[(k, tuple(v.shape), tuple(own[k].shape)) for k, v in state_dict.items()
                if k in own and isinstance(v, torch.Tensor) and v.shape != own[k].shape])


def _hint(mismatch: KeyMismatch) -> str:
    distiller = ('student.', 'teacher.')
    if mismatch.unexpected and all(k.startswith(distiller) for k in mismatch.unexpected):
        return (' It is a distillation checkpoint: use its distiller config, or export the '
                'student with tools/convert_student.py.')
    return ''


def check_fits(model: nn.Module, state_dict: Dict[str, torch.Tensor], source: str,
               target: str) -> None:
    """Raise unless ``state_dict`` loads into ``model`` with ``strict=True``.

    Args:
        model (nn.Module): The network the weights are meant for.
        state_dict (dict): The checkpoint's weights (:func:`state_dict_of`).
        source (str): How to name the checkpoint, e.g. ``"model.teacher_ckpt='t.pth'"``.
        target (str): How to name the model, e.g. ``'model.teacher'``.

    Raises:
        CheckpointError: listing missing, unexpected and shape-mismatched keys.
    """
    mismatch = compare_state_dict(model, state_dict)
    if mismatch:
        raise CheckpointError(f'{source} does not match {target} '
                              f'({type(model).__name__}): {mismatch.format()}.{_hint(mismatch)}')


def check_checkpoint_file(model: nn.Module, path: str, target: str = 'the model') -> None:
    """Read ``path`` safely and raise unless it loads into ``model`` strictly.

    Model wrappers (DDP) and test-time-augmentation models are unwrapped first, as MMEngine
    does when it loads ``load_from``.

    Raises:
        CheckpointError: unreadable file, no weights, or any key mismatch (listed).
    """
    from mmengine.model import BaseTTAModel, is_model_wrapper

    from .checkpoint import load_checkpoint_file
    if is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    source = f'checkpoint {path!r}'
    check_fits(model, state_dict_of(load_checkpoint_file(path), source), source, target)
