"""Default block boundaries of a classifier: the outputs of its backbone's stages.

This is the one file to touch to give a new backbone family default boundaries: add a rule
to :data:`STAGE_RULES` (backbone type name -> the backbone's stage modules, as paths relative
to the backbone) when the generic search below does not find its stages.

How the defaults are found (:func:`default_boundaries`):

1. **The stage modules.** A rule in :data:`STAGE_RULES`, else the first of: a list of stage
   names (``res_layers``, ``stage_names``, ``layers``, ``stages``: ResNet family, MobileNetV2/3,
   RepVGG, MobileOne ...), else the entries of a stage container (``stages``, ``layers``,
   ``network``, ``blocks``, ``features``, ``encoder``: ConvNeXt, Swin, ViT, EfficientNet,
   PoolFormer, DenseNet, ...), else the backbone's own children in forward order (HRNet,
   Inception, Conformer ...; a backbone that only wraps one module, such as ``TimmBackbone``,
   is searched inside that module).
2. **Only cuts.** Stage modules that run more than once or whose output is not a cut (see
   ``cuts.py``) are dropped.
3. **One boundary per resolution.** Of consecutive stages with the same output resolution the
   last one is kept, and leading runs at a stride under 4 (finer than ResNet's first stage: a
   stem) are dropped. Named ResNet-style stage lists (``res_layers``, ``stage_names``) keep every
   stage, as before.
4. **Isotropic backbones** (every stage at one resolution, e.g. ViT's transformer blocks) are
   cut between blocks into :data:`NUM_GROUPS` equal groups.
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch.nn as nn

from .cuts import ForwardTrace
from .features import tensor_leaves

#: Backbone type name -> function(backbone) returning its stage module paths (relative to the
#: backbone, in forward order). Add a family here when the generic search misses its stages.
STAGE_RULES: Dict[str, Callable[[nn.Module], List[str]]] = {
    # HRNet: the multi-resolution stages; each one ends where its branches are fused.
    'HRNet': lambda b: [n for n in ('layer1', 'stage2', 'stage3', 'stage4') if hasattr(b, n)],
    # Conformer: the fused CNN + transformer blocks (each returns both branches).
    'Conformer': lambda b: [n for n, _ in b.named_children() if n.startswith('conv_trans_')],
}

#: Attributes listing the names of stage modules (a list of str).
NAMED_STAGES = ('res_layers', 'stage_names', 'layers', 'stages')
#: Named lists whose every entry is a boundary (the ResNet convention; kept as before).
KEEP_ALL = ('res_layers', 'stage_names')
#: Attributes holding the stage modules themselves (ModuleList / Sequential).
STAGE_CONTAINERS = ('stages', 'layers', 'network', 'blocks', 'features', 'encoder')
#: Number of groups an isotropic backbone (ViT, MLP-Mixer, ConvMixer) is cut into.
NUM_GROUPS = 4
#: Leading stage runs with a smaller down-sampling factor are a stem (ResNet's first stage
#: has stride 4).
MIN_STRIDE = 4

LIST_HINT = 'Run `python tools/list_boundaries.py CONFIG` to see every valid cut path.'


def stage_paths(backbone: nn.Module) -> Tuple[List[str], bool]:
    """The backbone's stage modules (paths relative to it) and whether all are kept.

    Returns:
        tuple: (paths in forward order, True for named ResNet-style lists).
    """
    rule = STAGE_RULES.get(type(backbone).__name__)
    if rule is not None:
        return rule(backbone), False
    for attr in NAMED_STAGES:
        names = getattr(backbone, attr, None)
        if isinstance(names, (list, tuple)) and names and all(isinstance(n, str)
                                                              for n in names):
            return list(names), attr in KEEP_ALL
    for attr in STAGE_CONTAINERS:
        container = getattr(backbone, attr, None)
        if isinstance(container, (nn.ModuleList, nn.Sequential)) and len(container) > 1:
            return [f'{attr}.{i}' for i in range(len(container))], False
    children = [n for n, _ in backbone.named_children()]
    if len(children) == 1:
        inner, keep = stage_paths(getattr(backbone, children[0]))
        return [f'{children[0]}.{p}' for p in inner], keep
    return children, False


def _resolution(trace: ForwardTrace, path: str) -> tuple:
    """Spatial size (N, C, H, W -> (H, W)) or token count (N, L, C -> L) of each output
    tensor of ``path``."""
    keys = []
    for t in tensor_leaves(trace.calls[path].output):
        keys.append(tuple(t.shape[2:]) if t.dim() == 4 else tuple(t.shape[1:2]))
    return tuple(keys)


def pick_stages(trace: ForwardTrace, paths: Sequence[str], keep_all: bool) -> List[str]:
    """Steps 2-4 of the module docstring on the traced ``paths`` (full paths)."""
    paths = [p for p in paths if trace.is_cut(p)]
    paths.sort(key=lambda p: trace.calls[p].end)
    if keep_all or len(paths) < 2:
        return paths
    runs: List[List[str]] = []
    for path in paths:
        if runs and _resolution(trace, runs[-1][-1]) == _resolution(trace, path):
            runs[-1].append(path)
        else:
            runs.append([path])
    if len(runs) == 1:  # isotropic: equal groups of blocks
        blocks = runs[0]
        if len(blocks) <= NUM_GROUPS:
            return blocks
        return [blocks[round((g + 1) * len(blocks) / NUM_GROUPS) - 1]
                for g in range(NUM_GROUPS)]

    image_hw = trace.input_shape[1:]
    while len(runs) > 2 and (_stride(trace, runs[0][-1], image_hw) or MIN_STRIDE) < MIN_STRIDE:
        runs.pop(0)  # a stem: finer than ResNet's first stage
    return [run[-1] for run in runs]


def default_boundaries(classifier: nn.Module, field: str,
                       trace: Optional[ForwardTrace] = None) -> List[str]:
    """Module paths of the backbone's stages, e.g. ``['backbone.layer1', ..., 'backbone.layer4']``.

    Args:
        classifier (nn.Module): A built classifier with a ``backbone`` attribute.
        field (str): Config field to name in the error, e.g. ``'model.boundaries'``.
        trace (ForwardTrace, optional): A trace of ``classifier``; needed for every backbone
            but the named ResNet-style ones (``res_layers`` / ``stage_names``).

    Returns:
        list[str]: One dotted module path per boundary, in forward order.
    """
    backbone = getattr(classifier, 'backbone', None)
    if backbone is None:
        raise ValueError(f'{field} is not set and {type(classifier).__name__} has no '
                         f'`backbone` to take default boundaries from. {LIST_HINT}')
    rel, keep_all = stage_paths(backbone)
    paths = [f'backbone.{p}' for p in rel]
    if trace is None:
        if keep_all:
            return paths
        raise ValueError(f'{field}: default boundaries of {type(backbone).__name__} need a '
                         'traced forward pass')
    picked = pick_stages(trace, [p for p in paths if p in trace.calls], keep_all)
    if not picked:
        cuts = trace.cuts()
        raise ValueError(
            f'{field} is not set and no default boundaries were found for backbone '
            f'{type(backbone).__name__}: none of its stage modules ({", ".join(paths[:6])}'
            f'{" ..." if len(paths) > 6 else ""}) is a cut. Valid cut paths include: '
            f'{", ".join(cuts[:12]) or "none"}. {LIST_HINT}')
    return picked


def _stride(trace: ForwardTrace, path: str, image_hw: Sequence[int]) -> Optional[float]:
    """Down-sampling factor of ``path``'s first output relative to the input image."""
    leaves = tensor_leaves(trace.calls[path].output)
    if not leaves:
        return None
    t = leaves[0]
    if t.dim() == 4:
        return image_hw[0] / t.shape[2]
    if t.dim() == 3:
        return (image_hw[0] * image_hw[1] / t.shape[1]) ** 0.5
    return None


def match_by_stride(student: List[str], teacher: List[str], s_trace: ForwardTrace,
                    t_trace: ForwardTrace, s_hw: Sequence[int],
                    t_hw: Sequence[int]) -> Tuple[List[str], List[str]]:
    """Pair the default boundaries of two backbone families by stage order.

    Equal counts are paired in order. Otherwise the longer list keeps, for every boundary of
    the shorter one, the stage with the same down-sampling factor (e.g. MobileNetV2's
    stride-16 stage for ResNet's ``layer3``).

    Raises:
        ValueError: if the counts differ and some stride has no partner.
    """
    if len(student) == len(teacher):
        return student, teacher
    s_str = [_stride(s_trace, p, s_hw) for p in student]
    t_str = [_stride(t_trace, p, t_hw) for p in teacher]
    short, long_, short_str, long_str = (student, teacher, s_str, t_str) \
        if len(student) < len(teacher) else (teacher, student, t_str, s_str)
    chosen = []
    for stride in short_str:
        match = [p for p, s in zip(long_, long_str) if stride is not None and s is not None
                 and abs(s - stride) < 0.5 and p not in chosen]
        if not match:
            raise ValueError(
                f'default boundaries of student ({student}) and teacher ({teacher}) differ in '
                'number and cannot be matched by stage stride; set model.boundaries and '
                f'model.teacher_boundaries explicitly (as many of each). {LIST_HINT}')
        chosen.append(match[0])
    chosen.sort(key=long_.index)
    return (short, chosen) if short is student else (chosen, short)


def resolve_boundaries(student: nn.Module, teacher: nn.Module, boundaries, teacher_boundaries,
                       s_trace: Optional[ForwardTrace] = None,
                       t_trace: Optional[ForwardTrace] = None,
                       s_hw: Sequence[int] = (32, 32), t_hw: Sequence[int] = (32, 32)):
    """The student's and the teacher's boundary paths as a distiller config gives them.

    Unset ``boundaries`` default to each backbone's stages (:func:`default_boundaries`,
    matched by :func:`match_by_stride` when the families differ); unset (or empty)
    ``teacher_boundaries`` default to the student's paths.

    Returns:
        tuple: (student paths, teacher paths), not yet validated.
    """
    if boundaries is None:
        boundaries = default_boundaries(student, 'model.boundaries', s_trace)
        if teacher_boundaries is None:
            teacher_boundaries = default_boundaries(teacher, 'model.teacher_boundaries',
                                                    t_trace)
            if s_trace is not None and t_trace is not None:
                boundaries, teacher_boundaries = match_by_stride(
                    boundaries, teacher_boundaries, s_trace, t_trace, s_hw, t_hw)
    return boundaries, teacher_boundaries or boundaries
