"""Turn a distillation checkpoint into plain, MM-loadable student checkpoints.

A distiller's state dict holds ``student.*`` (the student classifier), ``teacher.*`` and
helper modules (``projectors.*``, ``adapters.*`` ...). Only the student survives export:

* :func:`student_checkpoint` -> keys ``backbone.*``, ``neck.*``, ``head.*``: loads into the
  student's mmpretrain ``ImageClassifier`` (``load_from`` / ``init_cfg``).
* :func:`backbone_checkpoint` -> the ``backbone.*`` keys with the prefix stripped
  (``conv1.weight``, ``layer1.0.conv1.weight`` ...): loads into mmdet's / mmpretrain's
  ``ResNet`` through ``init_cfg=dict(type='Pretrained', checkpoint=...)`` with no prefix.
"""
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch

STUDENT_PREFIX = 'student.'


def split_student(state_dict: Dict[str, torch.Tensor]) -> Tuple[OrderedDict, List[str]]:
    """Split a distiller state dict into the student's entries and the dropped keys.

    Args:
        state_dict (dict): A distiller's ``state_dict`` (keys ``student.*``, ``teacher.*``...).

    Returns:
        tuple: (student state dict with ``student.`` stripped, list of dropped keys).

    Raises:
        ValueError: if the state dict has no ``student.*`` entry.
    """
    if not isinstance(state_dict, dict):
        raise ValueError(f'expected a state dict, got {type(state_dict).__name__}')
    student = OrderedDict((k[len(STUDENT_PREFIX):], v) for k, v in state_dict.items()
                          if k.startswith(STUDENT_PREFIX))
    if not student:
        sample = ', '.join(list(state_dict)[:5]) or '<empty>'
        raise ValueError('no student weights: the checkpoint has no "student.*" keys (is it a '
                         f'teacher or plain classifier checkpoint?); first keys: {sample}')
    dropped = [k for k in state_dict if not k.startswith(STUDENT_PREFIX)]
    return student, dropped


def student_checkpoint(checkpoint: dict) -> Tuple[dict, List[str]]:
    """A plain mmpretrain classifier checkpoint of the student (no optimizer state).

    Args:
        checkpoint (dict): A checkpoint saved by MMEngine for a distiller.

    Returns:
        tuple: (``{'meta': ..., 'state_dict': ...}``, dropped keys).
    """
    state_dict = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) \
        else checkpoint
    student, dropped = split_student(state_dict)
    meta = dict(checkpoint.get('meta', {})) if isinstance(checkpoint, dict) else {}
    meta = {k: v for k, v in meta.items() if k in ('epoch', 'iter', 'seed', 'mmengine_version',
                                                   'time', 'experiment_name')}
    meta['exported_by'] = 'mmstablekd'
    return dict(meta=meta, state_dict=student), dropped


def backbone_checkpoint(checkpoint: dict, prefix: str = 'backbone.') -> Tuple[dict, List[str]]:
    """The student's backbone weights with ``prefix`` stripped, for detection ``init_cfg``.

    Returns:
        tuple: (``{'meta': ..., 'state_dict': ...}``, dropped keys incl. neck/head).
    """
    full, dropped = student_checkpoint(checkpoint)
    backbone = OrderedDict((k[len(prefix):], v) for k, v in full['state_dict'].items()
                           if k.startswith(prefix))
    if not backbone:
        raise ValueError(f'the student has no "{prefix}*" weights')
    dropped += [STUDENT_PREFIX + k for k in full['state_dict'] if not k.startswith(prefix)]
    return dict(meta=full['meta'], state_dict=backbone), dropped
