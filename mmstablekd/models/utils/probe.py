"""Build-time dry run of a classifier: where do its boundary modules run, and what do they give?"""
from typing import Callable, Dict, Iterable, List, Optional, Sequence

import torch
import torch.nn as nn


@torch.no_grad()
def probe_boundaries(net: nn.Module,
                     boundary_modules: List[nn.Module],
                     shape: Sequence[int],
                     field: str,
                     with_head: bool = False,
                     on_call: Optional[Callable[[nn.Module, int], None]] = None,
                     on_call_modules: Iterable[nn.Module] = ()) -> list:
    """Run ``net`` once in eval mode on zeros of shape (2, *shape); return boundary outputs.

    The training mode of ``net`` is restored and every hook removed afterwards, so BN
    statistics do not move.

    Args:
        net (nn.Module): An mmpretrain classifier (``extract_feat`` and ``head``).
        boundary_modules (list[nn.Module]): Modules whose first output is returned.
        shape (Sequence[int]): (C, H, W) of the dummy input.
        field (str): Config field to name in errors, e.g. ``'model.boundaries'``.
        with_head (bool): Also run ``net.head`` on the features.
        on_call (callable, optional): ``on_call(module, n)`` before each call of a module in
            ``on_call_modules``, with ``n`` the number of boundaries that had produced output.
        on_call_modules (Iterable[nn.Module]): Modules watched by ``on_call``.

    Returns:
        list: the first output of every boundary module, in the given order.

    Raises:
        ValueError: if a boundary module is never called, or the boundaries are not listed in
            forward order.
    """
    outputs: Dict[int, object] = {}
    order: List[int] = []
    handles = []
    if on_call is not None:
        for module in on_call_modules:
            handles.append(module.register_forward_pre_hook(
                lambda m, args: on_call(m, len(outputs))))
    for idx, module in enumerate(boundary_modules):
        def record(mod, args, out, idx=idx):
            outputs.setdefault(idx, out)
            order.append(idx)
        handles.append(module.register_forward_hook(record))
    was_training = net.training
    net.eval()
    try:
        feats = net.extract_feat(torch.zeros(2, *shape))
        if with_head:
            net.head(feats)
    finally:
        net.train(was_training)
        for h in handles:
            h.remove()
    missing = [i for i in range(len(boundary_modules)) if i not in outputs]
    if missing:
        raise ValueError(f'{field}[{missing[0]}] is never called in the forward pass')
    first_calls = list(dict.fromkeys(order))
    if first_calls != sorted(first_calls):
        raise ValueError(f'{field} must be listed in forward order; they run in the order '
                         f'{first_calls}')
    return [outputs[i] for i in range(len(boundary_modules))]
