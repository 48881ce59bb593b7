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
  checkpoint works too, with ``prefix='backbone.'``.)

A StableKD student whose projectors stay deployed (a projector on a boundary active in the
last stage) is exported with them: the distiller checkpoint's ``meta['student_deploy']``
(written by ``StudentCheckpointHook``, see :func:`student_deploy_meta`) names the projector
weights to keep (``projectors.3.*`` -> ``boundary_projectors.0.*``) and the model config
(``BoundaryProjectedClassifier``) that loads them; the exported ``meta['model']`` holds it.

:func:`convert_checkpoint` is what ``tools/convert_student.py`` runs: read (trusted) ->
export -> write, with an :class:`ExportReport` of what was kept and dropped. Every file it
cannot use (unreadable, no state dict, no ``student.*`` weights) is a :class:`CheckpointError`
whose message says why.
"""
import copy
import os
import os.path as osp
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Tuple

import torch

from .checkpoint import trust_checkpoints

STUDENT_PREFIX = 'student.'
_CLASSIFIER_PREFIXES = ('backbone.', 'neck.', 'head.')
_KEPT_META = ('epoch', 'iter', 'seed', 'mmengine_version', 'time', 'experiment_name')


class CheckpointError(ValueError):
    """A file that cannot be converted into a student checkpoint."""


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
    """A meta value as a plain Python scalar (numpy scalars unwrapped), else None.

    Keeps exported files loadable with ``torch.load(weights_only=True)``.
    """
    if hasattr(value, 'item') and not isinstance(value, torch.Tensor):
        value = value.item()
    return value if isinstance(value, (bool, int, float, str)) else None


def _state_dict_of(checkpoint) -> dict:
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f'expected a checkpoint dict, got {type(checkpoint).__name__}')
    return checkpoint.get('state_dict', checkpoint)


def student_deploy_meta(student_cfg: dict, projectors: List[dict],
                        data_preprocessor: Optional[dict] = None) -> dict:
    """What a distiller checkpoint records so its export keeps the deployed projectors.

    Args:
        student_cfg (dict): The student's model config (an ``ImageClassifier``).
        projectors (list[dict]): ``StableKD.deployed_projectors()``: ``source`` (state-dict
            prefix in the distiller), ``path`` and the ``BoundaryProjector`` arguments.
        data_preprocessor (dict, optional): The distiller's preprocessor config, if it
            overrides the student's.

    Returns:
        dict: ``model`` (a ``BoundaryProjectedClassifier`` config: the student config plus
        ``boundary_projectors``) and ``rename`` (distiller prefix -> exported prefix).
    """
    if student_cfg.get('type') not in ('ImageClassifier', 'mmpretrain.ImageClassifier'):
        raise CheckpointError('a student with deployed projectors must be an ImageClassifier '
                              f'to export, got type={student_cfg.get("type")!r}')
    model = copy.deepcopy(dict(student_cfg))
    model['type'] = 'BoundaryProjectedClassifier'
    if data_preprocessor:
        model['data_preprocessor'] = copy.deepcopy(dict(data_preprocessor))
    model['boundary_projectors'] = [{k: v for k, v in p.items() if k != 'source'}
                                    for p in projectors]
    rename = {p['source'] + '.': f'boundary_projectors.{i}.' for i, p in enumerate(projectors)}
    return dict(model=model, rename=rename)


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
    """

    kept: List[str]
    dropped: List[str]
    dropped_entries: List[str] = field(default_factory=list)
    backbone_only: bool = False

    def format(self) -> str:
        """Human-readable summary: counts and key groups."""
        kind = 'backbone (no prefix)' if self.backbone_only else 'student classifier'
        lines = [f'kept {len(self.kept)} tensors ({kind}):']
        lines += [f'  {g}: {n}' for g, n in key_groups(self.kept, 1).items()]
        lines.append(f'dropped {len(self.dropped)} tensors:')
        lines += [f'  {g}: {n}' for g, n in key_groups(self.dropped, 2).items()]
        entries = ', '.join(self.dropped_entries) or 'none'
        lines.append(f'dropped checkpoint entries (training state): {entries}')
        return '\n'.join(lines)


def read_checkpoint(path: str) -> dict:
    """Load a trusted MMEngine checkpoint on CPU.

    Full unpickling goes through :func:`mmstablekd.utils.trust_checkpoints` (torch >= 2.6
    refuses MMEngine's pickled message hub by default).

    Raises:
        CheckpointError: if the file is missing, unreadable (truncated, corrupted, not a torch
            file) or not a dict.
    """
    if not osp.isfile(path):
        raise CheckpointError(f'checkpoint {path!r} does not exist')
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=not trust_checkpoints())
    except Exception as e:  # torch raises many types for bad files (zip, pickle, EOF ...)
        raise CheckpointError(f'cannot read checkpoint {path!r}: not a readable torch file '
                              f'(truncated or corrupted?): {type(e).__name__}: {e}') from None
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f'checkpoint {path!r} holds a {type(checkpoint).__name__}, '
                              'expected a dict with a "state_dict"')
    return checkpoint


def convert_checkpoint(src: str, dst: str, backbone_only: bool = False) -> ExportReport:
    """Read the distillation checkpoint ``src`` and write the student (or backbone) to ``dst``.

    Args:
        src (str): A distiller checkpoint written by MMEngine (``epoch_N.pth``).
        dst (str): Output path (parent folders are created); must differ from ``src``.
        backbone_only (bool): Write :func:`backbone_checkpoint` instead of
            :func:`student_checkpoint`.

    Returns:
        ExportReport: what was kept and dropped.
    """
    if osp.abspath(src) == osp.abspath(dst):
        raise CheckpointError(f'output {dst!r} is the input checkpoint; choose another path')
    checkpoint = read_checkpoint(src)
    export = backbone_checkpoint if backbone_only else student_checkpoint
    exported, dropped = export(checkpoint)
    entries = [k for k in checkpoint if k not in ('state_dict', 'meta')] \
        if 'state_dict' in checkpoint else []
    if osp.dirname(dst):
        os.makedirs(osp.dirname(dst), exist_ok=True)
    torch.save(exported, dst)
    if 'model' in exported['meta']:
        write_model_config(exported['meta']['model'], model_config_path(dst))
    return ExportReport(kept=list(exported['state_dict']), dropped=dropped,
                        dropped_entries=entries, backbone_only=backbone_only)


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
