"""What to do when ``model.teacher_ckpt`` does not exist, per kind of teacher.

* a teacher trained by one of our configs (``work_dirs/<folder>_<name>/...`` written by
  ``configs/<folder>/<name>.py``, e.g. ``configs/teachers/``): the command that trains it;
* a timm teacher (mmpretrain's ``TimmClassifier``): the one-liner that saves timm's weights;
* an mmpretrain model-zoo checkpoint (its file name is listed in mmpretrain's metafiles): the
  download URL.

Nothing is downloaded at run time; the message says what a person runs once.
"""
import glob
import os.path as osp
import re
from typing import Optional

import torch.nn as nn

from .mim import mim_dir

MODEL_ZOO = 'https://mmpretrain.readthedocs.io/en/latest/modelzoo_statistics.html'


def missing_teacher_message(teacher_ckpt: str, teacher: Optional[nn.Module] = None) -> str:
    """The ``FileNotFoundError`` text for a ``model.teacher_ckpt`` that does not exist.

    Args:
        teacher_ckpt (str): The configured path.
        teacher (nn.Module, optional): The built teacher (tells a timm teacher apart).

    Returns:
        str: One message: what is missing and the action that provides it.
    """
    action = (_timm_action(teacher_ckpt, teacher) or _config_action(teacher_ckpt)
              or _model_zoo_action(teacher_ckpt)
              or 'train or download the teacher and pass its checkpoint')
    return (f'model.teacher_ckpt={teacher_ckpt!r} does not exist. {action}; or pass '
            '--cfg-options model.teacher_ckpt=PATH.')


def timm_model_name(teacher: Optional[nn.Module]) -> Optional[str]:
    """``<architecture>.<tag>`` of a ``TimmClassifier`` teacher (None for other teachers)."""
    if type(teacher).__name__ != 'TimmClassifier':
        return None
    cfg = getattr(getattr(teacher, 'model', None), 'pretrained_cfg', None) or {}
    arch = cfg.get('architecture')
    if not arch:
        return None
    return f"{arch}.{cfg['tag']}" if cfg.get('tag') else arch


def _timm_action(teacher_ckpt: str, teacher: Optional[nn.Module]) -> Optional[str]:
    name = timm_model_name(teacher)
    if name is None:
        return None
    folder = osp.dirname(teacher_ckpt) or '.'
    return (f'It is timm\'s {name}: save its weights once (network needed) with  mkdir -p '
            f'{folder} && python -c "import timm, torch; torch.save(timm.create_model('
            f"'{name}', pretrained=True).state_dict(), '{teacher_ckpt}')\"")


def _config_action(teacher_ckpt: str) -> Optional[str]:
    """``work_dirs/<folder>_<name>/x.pth`` of ``configs/<folder>/<name>.py``: train it."""
    match = re.search(r'(?:^|/)work_dirs/([^/_]+)_([^/]+)/[^/]+$', teacher_ckpt)
    if match is None:
        return None
    folder, name = match.groups()
    try:
        config = mim_dir('configs') / folder / f'{name}.py'
    except FileNotFoundError:
        return None
    if not config.is_file():
        return None
    action = (f'Train the teacher first: python tools/train.py configs/{folder}/{name}.py '
              f'(writes {teacher_ckpt})')
    if folder == 'quickstart':
        action += ', or run python tools/quickstart.py, which trains it'
    return action


def _model_zoo_action(teacher_ckpt: str) -> Optional[str]:
    """An mmpretrain model-zoo file name: its download URL (from mmpretrain's metafiles)."""
    name = osp.basename(teacher_ckpt)
    url = _mmpretrain_weights_url(name)
    if url is None:
        if re.search(r'_\d{8}-[0-9a-f]{8}\.pth$', name):  # the model zoo's naming
            return f'Download {name} from the mmpretrain model zoo ({MODEL_ZOO})'
        return None
    folder = osp.dirname(teacher_ckpt) or '.'
    return (f'It is an mmpretrain model-zoo checkpoint: download it once with  mkdir -p '
            f'{folder} && wget -O {teacher_ckpt} {url}')


def _mmpretrain_weights_url(filename: str) -> Optional[str]:
    """The ``Weights`` URL ending in ``filename`` in mmpretrain's installed metafiles."""
    try:
        import mmpretrain
    except ImportError:  # pragma: no cover - mmpretrain is a dependency
        return None
    root = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'configs')
    pattern = re.compile(r'^\s*Weights:\s*(\S*/' + re.escape(filename) + r')\s*$', re.M)
    for metafile in sorted(glob.glob(osp.join(root, '*', 'metafile.yml'))):
        with open(metafile, encoding='utf-8') as f:
            found = pattern.search(f.read())
        if found:
            return found.group(1)
    return None
