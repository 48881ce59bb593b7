"""Build-time dry run of student and teacher: where the boundaries are and what they give.

:func:`probe_input_shape` picks an input the backbone accepts; :func:`trace_net` traces a
network on it (naming ``probe_input_shape`` when the backbone refuses it);
:func:`check_boundaries` validates boundary paths against a trace: each names one module that
runs exactly once per forward pass, in forward order, and is a cut (see ``cuts.py``).
"""
from typing import List, Optional, Sequence, Tuple

import torch.nn as nn

from .cuts import ForwardTrace, trace_forward
from .default_boundaries import LIST_HINT
from .module_paths import get_submodule

#: Probe input when neither the config nor the backbone gives a size.
FALLBACK_SHAPE = (3, 32, 32)
#: The ImageNet crop tried when the fallback is refused by the backbone.
IMAGENET_SHAPE = (3, 224, 224)


def backbone_image_size(classifier: nn.Module) -> Optional[Tuple[int, int]]:
    """(H, W) the backbone was built for (``img_size`` of ViT/Swin-style backbones), if any."""
    backbone = getattr(classifier, 'backbone', None)
    candidates = [getattr(backbone, 'img_size', None),
                  getattr(getattr(backbone, 'patch_embed', None), 'init_input_size', None)]
    for size in candidates:
        if isinstance(size, int) and size > 0:
            return size, size
        if isinstance(size, (tuple, list)) and len(size) == 2 and all(
                isinstance(s, int) and s > 0 for s in size):
            return tuple(size)
    return None


def probe_input_shape(classifier: nn.Module,
                      given: Optional[Sequence[int]]) -> Tuple[Tuple[int, ...], bool]:
    """(C, H, W) of the build-time probe input and whether it was chosen automatically.

    ``given`` (``model.probe_input_shape``) wins; else the backbone's own ``img_size``; else
    (3, 32, 32) (and (3, 224, 224) if the backbone refuses that, see :func:`trace_net`).
    """
    if given is not None:
        if not isinstance(given, (list, tuple)) or len(given) != 3 or not all(
                isinstance(d, int) and d > 0 for d in given):
            raise TypeError('model.probe_input_shape must be (C, H, W) positive ints, e.g. '
                            f'(3, 224, 224); got {given!r}')
        return tuple(given), False
    size = backbone_image_size(classifier)
    return ((3, *size) if size else FALLBACK_SHAPE), True


def trace_net(net: nn.Module, shape: Sequence[int], auto: bool, who: str) -> ForwardTrace:
    """Trace ``net`` on zeros of ``shape``; with an automatic shape, retry at 224x224.

    Raises:
        ValueError: naming ``model.probe_input_shape`` when the backbone refuses the input.
    """
    try:
        return trace_forward(net, shape)
    except Exception as first:  # noqa: BLE001 -- any refusal of the input is reported
        if auto and tuple(shape) != IMAGENET_SHAPE:
            try:
                return trace_forward(net, (shape[0], *IMAGENET_SHAPE[1:]))
            except Exception:  # noqa: BLE001
                pass
        raise ValueError(
            f'the build-time probe of the {who} failed on an input of shape (2, '
            f'{", ".join(map(str, shape))}): {type(first).__name__}: {first}. Set '
            'model.probe_input_shape=(C, H, W) to a size the backbone accepts (e.g. the '
            "config's crop size, (3, 224, 224)).") from None


def check_boundaries(net: nn.Module, paths: Sequence[str], trace: ForwardTrace,
                     field: str, allow_empty: bool = False) -> List[nn.Module]:
    """Validate ``paths`` against ``trace`` and return their modules.

    ``allow_empty``: an explicit empty list is valid (one block, e.g. StableKD-1/0).

    Raises:
        TypeError/ValueError: naming ``field[i]`` when a path is not a module path, names the
            same module as another entry, never runs, runs more than once per forward pass,
            is listed out of forward order, or is not a cut (with what bypasses it and the
            nearest valid cut paths).
    """
    if isinstance(paths, (list, tuple)) and not paths and allow_empty:
        return []
    if isinstance(paths, str) or not isinstance(paths, (list, tuple)) or not paths:
        raise TypeError(f'{field} must be a non-empty list of module paths, got {paths!r}')
    modules = [get_submodule(net, p, f'{field}[{i}]') for i, p in enumerate(paths)]
    for i, module in enumerate(modules):
        for j in range(i):
            if modules[j] is module:
                raise ValueError(f'{field}[{i}]={paths[i]!r} is a duplicate of {field}[{j}]='
                                 f'{paths[j]!r} (the same module): each boundary must be '
                                 'listed once')
    name_of = {m: n for n, m in net.named_modules()}
    for i, (path, module) in enumerate(zip(paths, modules)):
        call = trace.call(name_of[module])
        if call is None:
            raise ValueError(f'{field}[{i}] is never called in the forward pass ({path!r})')
        if len(call.starts) > 1:
            raise ValueError(
                f'{field}[{i}]={path!r} runs {len(call.starts)} times per forward pass (a '
                'module reused inside its block, e.g. a shared activation): it is not one '
                'point of the network, so its output cannot be matched or replaced. Use a '
                f'module that runs once; nearest valid cuts: {_nearest(trace, call)}. '
                f'{LIST_HINT}')
    ends = [trace.call(name_of[m]).end for m in modules]
    if ends != sorted(ends):
        order = sorted(range(len(ends)), key=ends.__getitem__)
        raise ValueError(f'{field} must be listed in forward order; they run in the order '
                         f'{order}')
    for i, (path, module) in enumerate(zip(paths, modules)):
        name = name_of[module]
        if not trace.is_cut(name):
            raise ValueError(f'{field}[{i}]={path!r} is not a cut: {_why(trace, name)}. '
                             f'Nearest valid cuts: {_nearest(trace, trace.call(name))}. '
                             f'{LIST_HINT}')
    return modules


def _why(trace: ForwardTrace, path: str) -> str:
    call = trace.call(path)
    if call.passthrough:
        return 'it returns its input unchanged, so its output is no point of its own'
    if not call.edges:
        return 'its output does not depend on the input'
    outer = trace.bypass(path)
    if outer is not None:
        kind = type(trace.call(outer).module).__name__
        return (f'with its output detached, gradient from the logits still reaches the input '
                f'through {outer!r} ({kind}), which uses its input again after it (a skip / '
                'residual or dense connection bypasses the boundary)')
    return ('with its output detached, gradient from the logits still reaches the input '
            'through a path around it')


def _nearest(trace: ForwardTrace, call, per_side: int = 2) -> str:
    cuts = trace.cuts()
    before = [p for p in cuts if trace.call(p).end < call.end][-per_side:]
    after = [p for p in cuts if trace.call(p).end > call.end][:per_side]
    found = before + after
    if not found:
        return 'none found'
    return ', '.join(f'{p!r} -> {_fmt_shape(trace.call(p).shape)}' for p in found)


def _fmt_shape(shape) -> str:
    return str(shape).replace(' ', '')
