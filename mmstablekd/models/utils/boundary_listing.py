"""The candidate boundaries of a classifier as ``tools/list_boundaries.py`` prints them."""
import copy
from typing import List, Optional, Sequence, Tuple

import torch.nn as nn

from .cuts import ForwardTrace
from .default_boundaries import default_boundaries
from .probe import probe_input_shape, trace_net


def config_crop_size(cfg) -> Optional[int]:
    """The training crop size of an MMPretrain config (``RandomResizedCrop.scale``,
    ``RandomCrop``/``CenterCrop.crop_size``, ``Resize.scale``), if it has one."""
    pipeline = cfg.get('train_pipeline') or \
        cfg.get('train_dataloader', {}).get('dataset', {}).get('pipeline', []) or []
    for step in pipeline:
        if not isinstance(step, dict):
            continue
        for key in ('scale', 'crop_size', 'size'):
            value = step.get(key)
            if step.get('type', '').endswith(('Crop', 'Resize')) and value is not None:
                size = value if isinstance(value, int) else value[0] if isinstance(
                    value, (list, tuple)) and value and isinstance(value[0], int) else None
                if size:
                    return int(size)
    return None


def networks_of(cfg) -> List[Tuple[str, dict, Optional[Sequence[str]]]]:
    """(role, classifier config, boundaries the config gives) for a distiller config
    (student and teacher) or a plain classifier config (the model itself)."""
    model = copy.deepcopy(cfg.model)
    if 'student' in model and 'teacher' in model:
        given = model.get('boundaries')
        return [('student', model['student'], given),
                ('teacher', model['teacher'], model.get('teacher_boundaries') or given)]
    return [('model', model, None)]


def _count(n: int) -> str:
    for unit, div in (('M', 1e6), ('K', 1e3)):
        if n >= div:
            return f'{n / div:.1f}{unit}'
    return str(n)


def list_boundaries(net: nn.Module, role: str, probe_shape: Optional[Sequence[int]] = None,
                    given: Optional[Sequence[str]] = None, show_all: bool = False) -> str:
    """A table of ``net``'s cut paths in forward order.

    Columns: the path, its output shape on the probe input, the parameters of the block that
    ends there (everything since the previous listed cut), and ``default`` / ``config`` where
    the default boundaries / the config's boundaries pick it.

    Args:
        net (nn.Module): A built classifier.
        role (str): ``'student'``, ``'teacher'`` or ``'model'`` (the heading).
        probe_shape (Sequence[int], optional): (C, H, W); default as the distillers choose.
        given (Sequence[str], optional): Boundaries the config sets (marked ``config``).
        show_all (bool): List every cut; by default only cuts at most one level deeper than
            the default boundaries (the stages and the blocks in them).

    Returns:
        str: the table, with a heading and the default boundaries (or why there are none).
    """
    shape, auto = probe_input_shape(net, probe_shape)
    trace = trace_net(net, shape, auto, role)
    try:
        defaults = default_boundaries(net, 'model.boundaries', trace)
        note = f'default boundaries: {defaults}'
    except ValueError as e:
        defaults, note = [], f'no default boundaries: {e}'
    cuts = trace.cuts()
    if not show_all:
        depth = max([p.count('.') for p in defaults] or [2]) + 1
        cuts = [p for p in cuts if p.count('.') <= depth or p in defaults]
    return _table(net, role, trace, cuts, defaults, list(given or []), note)


def _table(net: nn.Module, role: str, trace: ForwardTrace, cuts: List[str],
           defaults: List[str], given: List[str], note: str) -> str:
    backbone = type(getattr(net, 'backbone', net)).__name__
    params = trace.block_params(cuts)
    width = max([len(p) for p in cuts] + [4])
    lines = [f'{role}: {type(net).__name__} with backbone {backbone}, probe input '
             f'{trace.input_shape}; {len(cuts)} cut paths in forward order',
             f'  {"path":<{width}}  {"output shape":<28} {"block params":>12}  picked by']
    for path, n in zip(cuts, params):
        marks = [m for m, chosen in (('default', defaults), ('config', given)) if path in chosen]
        shape = str(trace.call(path).shape).replace(' ', '')
        lines.append(f'  {path:<{width}}  {shape:<28} {_count(n):>12}  {", ".join(marks)}')
    rest = sum(p.numel() for p in net.parameters()) - sum(params)
    lines.append(f'  {"(rest, to the logits)":<{width}}  {"":<28} {_count(rest):>12}')
    lines.append(f'  {note}')
    return '\n'.join(lines)
