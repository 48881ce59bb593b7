"""Turn a distillation checkpoint into plain, MM-loadable student checkpoints.

A distiller's state dict holds ``student.*`` (the student classifier), ``teacher.*`` and
training-only helper modules (``projectors.*``, ``adapters.*`` ...). Only the student survives
export, and none of the training state (optimizer, schedulers, message hub):

* :func:`student_checkpoint` -> keys ``backbone.*``, ``neck.*``, ``head.*``: loads into the
  student's mmpretrain ``ImageClassifier`` (``load_from`` / ``tools/test.py``).
* :func:`backbone_checkpoint` -> the ``backbone.*`` keys with the prefix stripped
  (``conv1.weight``, ``layer1.0.conv1.weight`` ...). This is the prefix convention of
  backbone checkpoints: mmdet's / mmpretrain's ``ResNet`` loads it through
  ``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` with no ``prefix``. (The classifier
  checkpoint works too, with ``prefix='backbone.'``.) An mmpretrain Swin backbone is written
  in mmdet's Swin layout instead (:mod:`mmstablekd.utils.swin_convert`).

A student that keeps some of the distiller's helper modules at deployment (StableKD's
projectors on boundaries active in the last stage) is exported with them: the distiller
checkpoint's ``meta['student_deploy']`` -- what the distiller's own ``student_deploy()``
returned, recorded by ``StudentCheckpointHook`` -- names the weights to keep with their
exported prefixes (``rename``) and the model config that loads them (``model``); the exported
``meta['model']`` holds it. This module only applies that recipe: which modules deploy and how
they are named is the distiller's business (``BaseDistiller.export_student``), so a checkpoint
file converts without building its model.

:func:`convert_checkpoint` is what ``tools/convert_student.py`` runs: read (safely, see
:mod:`mmstablekd.utils.checkpoint`) -> export -> check the weights are finite -> write, with an
:class:`ExportReport` of what was kept and dropped. ``meta`` keeps the run's identity
(``epoch``, ``seed`` ...), ``dataset_meta`` (class names) and ``cfg`` (the config text), as
plain Python values. Every file it cannot use (unreadable, no state dict, no ``student.*``
weights, NaN/Inf weights) is a :class:`CheckpointError` whose message says why.
"""
import copy
import os
import os.path as osp
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Tuple

import torch

from .checkpoint import CheckpointError, load_checkpoint_file
from .swin_convert import SwinConversionError, is_mmpretrain_swin, swin_to_mmdet

STUDENT_PREFIX = 'student.'
_CLASSIFIER_PREFIXES = ('backbone.', 'neck.', 'head.')
_KEPT_META = ('epoch', 'iter', 'seed', 'mmengine_version', 'time', 'experiment_name',
              'dataset_meta', 'cfg')
__all__ = ['CheckpointError']  # re-exported: convert_student and its tests import it here


def _no_student_message(keys: List[str]) -> str:
    sample = ', '.join(keys[:5]) or '<empty>'
    if any(k.startswith('teacher.') for k in keys):
        what = ('it holds teacher weights ("teacher.*") but no student weights: a teacher-only '
                'file, not a distillation checkpoint')
    elif keys and all(k.startswith(_CLASSIFIER_PREFIXES) for k in keys):
        what = ('it looks like a plain classifier checkpoint ("backbone.*", "head.*"), e.g. a '
                'teacher or an already exported student, not a distillation checkpoint')
    else:
        what = 'it is not a distillation checkpoint of an mmstablekd distiller'
    return f'no student weights: the state dict has no "student.*" keys; {what}. First keys: ' \
           f'{sample}'


def split_student(state_dict: Dict[str, torch.Tensor]) -> Tuple[OrderedDict, List[str]]:
    """Split a distiller state dict into the student's entries and the dropped keys.

    Args:
        state_dict (dict): A distiller's ``state_dict`` (keys ``student.*``, ``teacher.*``...).

    Returns:
        tuple: (student state dict with ``student.`` stripped, list of dropped keys).

    Raises:
        CheckpointError: if it is not a dict of tensors or has no ``student.*`` entry.
    """
    if not isinstance(state_dict, dict):
        raise CheckpointError(f'expected a state dict, got {type(state_dict).__name__}')
    bad = [k for k, v in state_dict.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f'the state dict is corrupted: {len(bad)} entries are not '
                              f'tensors, e.g. {bad[0]!r} ({type(state_dict[bad[0]]).__name__})')
    student = OrderedDict((k[len(STUDENT_PREFIX):], v) for k, v in state_dict.items()
                          if k.startswith(STUDENT_PREFIX))
    if not student:
        raise CheckpointError(_no_student_message(list(state_dict)))
    dropped = [k for k in state_dict if not k.startswith(STUDENT_PREFIX)]
    return student, dropped


def _plain(value):
    """A meta value as plain Python (numpy scalars unwrapped, containers recursed), else None.

    Keeps exported files loadable with ``torch.load(weights_only=True)``; entries of
    containers that are not plain are dropped.
    """
    if isinstance(value, dict):
        items = ((str(k), _plain(v)) for k, v in value.items())
        return {k: v for k, v in items if v is not None}
    if isinstance(value, (list, tuple)):
        return type(value)(v for v in map(_plain, value) if v is not None)
    if hasattr(value, 'item') and not isinstance(value, torch.Tensor):
        try:
            value = value.item()
        except (TypeError, ValueError):  # numpy arrays of several elements
            return None
    return value if isinstance(value, (bool, int, float, str)) else None


def _state_dict_of(checkpoint) -> dict:
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f'expected a checkpoint dict, got {type(checkpoint).__name__}')
    return checkpoint.get('state_dict', checkpoint)


def student_checkpoint(checkpoint: dict) -> Tuple[dict, List[str]]:
    """A plain mmpretrain classifier checkpoint of the student (no optimizer state).

    Args:
        checkpoint (dict): A checkpoint saved by MMEngine for a distiller (or a bare state
            dict).

    Returns:
        tuple: (``{'meta': ..., 'state_dict': ...}``, dropped state-dict keys). With a
        ``meta['student_deploy']`` the deployed projectors are kept (renamed) and the meta
        gets the ``model`` config that loads the checkpoint.
    """
    state_dict = _state_dict_of(checkpoint)
    student, dropped = split_student(state_dict)
    meta = checkpoint.get('meta', {}) if 'state_dict' in checkpoint else {}
    deploy = dict(meta or {}).get('student_deploy')
    meta = {k: _plain(v) for k, v in dict(meta or {}).items() if k in _KEPT_META}
    meta = {k: v for k, v in meta.items() if v is not None}
    meta['exported_by'] = 'mmstablekd'
    if deploy:
        for src, dst in deploy['rename'].items():
            keys = [k for k in dropped if k.startswith(src)]
            if not keys:
                raise CheckpointError(f'meta["student_deploy"] names the projector {src}* but '
                                      'the state dict has no such keys')
            for k in keys:
                student[dst + k[len(src):]] = state_dict[k]
            dropped = [k for k in dropped if not k.startswith(src)]
        meta['model'] = copy.deepcopy(deploy['model'])
    return dict(meta=meta, state_dict=student), dropped


def backbone_checkpoint(checkpoint: dict, prefix: str = 'backbone.') -> Tuple[dict, List[str]]:
    """The student's backbone weights with ``prefix`` stripped, for detection ``init_cfg``.

    Args:
        checkpoint (dict): A distiller checkpoint, as for :func:`student_checkpoint`.
        prefix (str): The backbone's prefix inside the student. Defaults to ``'backbone.'``.

    Returns:
        tuple: (``{'meta': ..., 'state_dict': ...}``, dropped keys incl. the student's
        neck/head as ``student.neck.*`` / ``student.head.*``).
    """
    full, dropped = student_checkpoint(checkpoint)
    backbone = OrderedDict((k[len(prefix):], v) for k, v in full['state_dict'].items()
                           if k.startswith(prefix))
    if not backbone:
        raise CheckpointError(f'the student has no "{prefix}*" weights; its keys start with '
                              f'{sorted(key_groups(full["state_dict"], depth=1))}')
    dropped += [STUDENT_PREFIX + k for k in full['state_dict'] if not k.startswith(prefix)]
    meta = {k: v for k, v in full['meta'].items() if k != 'model'}  # not a classifier
    return dict(meta=meta, state_dict=backbone), dropped


def key_groups(keys: Iterable[str], depth: int = 2) -> Dict[str, int]:
    """Count keys by their first ``depth`` dotted components.

    >>> key_groups(['teacher.backbone.conv1.weight', 'teacher.head.fc.bias', 'projectors.0.w'])
    {'teacher.backbone': 1, 'teacher.head': 1, 'projectors.0': 1}
    """
    groups: Dict[str, int] = OrderedDict()
    for key in keys:
        group = '.'.join(key.split('.')[:depth])
        groups[group] = groups.get(group, 0) + 1
    return dict(groups)


@dataclass
class ExportReport:
    """What a conversion kept and dropped.

    Attributes:
        kept (list[str]): Keys of the written state dict.
        dropped (list[str]): Source state-dict keys not written (teacher, helpers, and for a
            backbone export the student's neck/head).
        dropped_entries (list[str]): Top-level checkpoint entries not written (``optimizer``,
            ``param_schedulers``, ``message_hub`` ...).
        backbone_only (bool): Whether the backbone-only checkpoint was written.
        dst (str): The file written.
    """

    kept: List[str]
    dropped: List[str]
    dropped_entries: List[str] = field(default_factory=list)
    backbone_only: bool = False
    dst: str = ''

    def format(self) -> str:
        """Human-readable summary: counts and key groups."""
        swin = any(k.startswith('backbone.') for k in self.kept)  # mmdet's Swin layout keeps it
        kind = ('student classifier' if not self.backbone_only else
                "backbone (mmdet Swin layout, 'backbone.' prefix)" if swin else
                'backbone (no prefix)')
        lines = [f'kept {len(self.kept)} tensors ({kind}):']
        lines += [f'  {g}: {n}' for g, n in key_groups(self.kept, 1).items()]
        lines.append(f'dropped {len(self.dropped)} tensors:')
        lines += [f'  {g}: {n}' for g, n in key_groups(self.dropped, 2).items()]
        entries = ', '.join(self.dropped_entries) or 'none'
        lines.append(f'dropped checkpoint entries (training state): {entries}')
        return '\n'.join(lines)


def read_checkpoint(path: str, unsafe_load: bool = False) -> dict:
    """Load an MMEngine checkpoint on CPU without running code from it.

    Goes through :func:`mmstablekd.utils.checkpoint.load_checkpoint_file` (``weights_only``
    plus MMEngine's types; ``MMSTABLEKD_UNSAFE_LOAD=1`` opts in to full unpickling).

    Raises:
        CheckpointError: if the file is missing, a directory, empty, unreadable (truncated,
            corrupted, not a torch file), needs a refused type, or is not a dict.
    """
    checkpoint = load_checkpoint_file(path, unsafe_load=unsafe_load)
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f'checkpoint {path!r} holds a {type(checkpoint).__name__}, '
                              'expected a dict with a "state_dict"')
    return checkpoint


def default_output(src: str, backbone_only: bool = False) -> str:
    """``<src stem>_student.pth`` beside ``src`` (MMRazor's rule); ``_student_backbone.pth``
    for a backbone-only export, so the two exports of one checkpoint never overwrite each
    other."""
    stem = osp.splitext(src)[0]
    return stem + ('_student_backbone.pth' if backbone_only else '_student.pth')


def non_finite(state_dict: Dict[str, torch.Tensor]) -> List[str]:
    """Keys of floating-point tensors holding NaN or Inf."""
    return [k for k, v in state_dict.items()
            if v.is_floating_point() and not bool(torch.isfinite(v).all())]


def _check_output(src: str, dst: str, inplace: bool) -> str:
    """The real path to write; refuses writing over ``src`` (unless ``inplace``) or a folder."""
    same = osp.realpath(src) == osp.realpath(dst)
    if same and not inplace:
        raise CheckpointError(f'output {dst!r} is the input checkpoint {src!r} (same real '
                              'file); choose another path, or pass --inplace to replace it')
    if osp.isdir(dst):
        raise CheckpointError(f'output {dst!r} is a directory; give a file path such as '
                              f'{osp.join(dst, osp.basename(default_output(src)))!r}')
    return osp.realpath(dst) if inplace else dst


def _save_atomically(obj: dict, dst: str) -> None:
    """Write to a temporary file beside ``dst``, then rename: ``dst`` is never half-written."""
    if osp.dirname(dst):
        os.makedirs(osp.dirname(dst), exist_ok=True)
    tmp = f'{dst}.tmp{os.getpid()}'
    try:
        torch.save(obj, tmp)
        os.replace(tmp, dst)
    except OSError as e:
        raise CheckpointError(f'cannot write output {dst!r}: {e}') from None
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def convert_checkpoint(src: str, dst: Optional[str] = None, backbone_only: bool = False,
                       inplace: bool = False, unsafe_load: bool = False) -> ExportReport:
    """Read the distillation checkpoint ``src`` and write the student (or backbone) to ``dst``.

    Args:
        src (str): A distiller checkpoint written by MMEngine (``epoch_N.pth``).
        dst (str, optional): Output path (parent folders are created); must not be ``src``
            (compared as real paths, so a symlink to ``src`` is refused). Defaults to
            :func:`default_output` (or ``src`` itself with ``inplace``).
        backbone_only (bool): Write :func:`backbone_checkpoint` instead of
            :func:`student_checkpoint`.
        inplace (bool): Replace ``src`` by its export (MMRazor's ``--inplace``); written
            atomically, so a failure leaves ``src`` intact.
        unsafe_load (bool): Unpickle ``src`` fully (as ``MMSTABLEKD_UNSAFE_LOAD=1``): can run
            code from the file.

    Returns:
        ExportReport: what was kept and dropped; ``dst`` is the path written.

    Raises:
        CheckpointError: unusable input or output (see the module docstring).
    """
    if inplace and dst is not None and osp.realpath(dst) != osp.realpath(src):
        raise CheckpointError(f'--inplace replaces the input {src!r}; do not also give an '
                              f'output ({dst!r})')
    dst = src if inplace else (dst or default_output(src, backbone_only))
    dst = _check_output(src, dst, inplace)
    checkpoint = read_checkpoint(src, unsafe_load)
    export = backbone_checkpoint if backbone_only else student_checkpoint
    exported, dropped = export(checkpoint)
    if backbone_only and is_mmpretrain_swin(exported['state_dict']):  # mmdet's Swin layout
        try:
            exported['state_dict'], _ = swin_to_mmdet(exported['state_dict'])
        except SwinConversionError as e:
            raise CheckpointError(f'cannot convert the Swin backbone for mmdet: {e}') from None
    bad = non_finite(exported['state_dict'])
    if bad:
        raise CheckpointError(
            f'checkpoint {src!r}: {len(bad)} student tensors hold NaN/Inf values (the run '
            f'diverged?): {", ".join(bad[:8])}{" ..." if len(bad) > 8 else ""}; nothing '
            'written. Export an earlier checkpoint')
    entries = [k for k in checkpoint if k not in ('state_dict', 'meta')] \
        if 'state_dict' in checkpoint else []
    _save_atomically(exported, dst)
    if 'model' in exported['meta']:
        write_model_config(exported['meta']['model'], model_config_path(dst))
    return ExportReport(kept=list(exported['state_dict']), dropped=dropped,
                        dropped_entries=entries, backbone_only=backbone_only, dst=dst)


def model_config_path(checkpoint_path: str) -> str:
    """The config written next to an exported checkpoint: ``x.pth`` -> ``x.py``."""
    return osp.splitext(checkpoint_path)[0] + '.py'


def write_model_config(model: dict, path: str) -> str:
    """Write ``model = ...`` (plus ``custom_imports`` of mmstablekd) as an MMEngine config.

    The file builds the exported student with ``MODELS.build(Config.fromfile(path).model)``
    (or serves as the ``model`` of a test config).
    """
    from mmengine.config import Config
    Config(dict(custom_imports=dict(imports=['mmstablekd'], allow_failed_imports=False),
                model=model)).dump(path)
    return path
