"""Boundary outputs: a tensor, or (nested) tuples/lists whose tensor leaves are features and
whose other leaves (e.g. the ``hw_shape`` of Swin's ``(x, hw_shape)``) pass through as is."""
from typing import Any, Callable, List, Optional, Tuple, Union

import torch

Feature = Union[torch.Tensor, Tuple[Any, ...], List[Any]]


def map_tensors(fn: Callable[[torch.Tensor], Any], x: Any) -> Any:
    """Apply ``fn`` to every tensor leaf of ``x``; other leaves are returned unchanged."""
    if isinstance(x, torch.Tensor):
        return fn(x)
    if isinstance(x, (tuple, list)):
        return type(x)(map_tensors(fn, v) for v in x)
    return x


def tensor_leaves(x: Any) -> List[torch.Tensor]:
    """The tensors in ``x`` (depth first)."""
    if isinstance(x, torch.Tensor):
        return [x]
    if isinstance(x, (tuple, list)):
        return [t for v in x for t in tensor_leaves(v)]
    return []


def detach(x: Feature) -> Feature:
    """``x`` with every tensor leaf detached."""
    return map_tensors(torch.Tensor.detach, x)


def single_tensor(x: Any) -> Optional[torch.Tensor]:
    """The only tensor leaf of ``x``, or None when there are none or several."""
    leaves = tensor_leaves(x)
    return leaves[0] if len(leaves) == 1 else None


def skeleton(x: Any) -> Any:
    """``x`` with every tensor replaced by None (compares the non-tensor parts)."""
    return map_tensors(lambda _: None, x)


def feature_shape(x: Any) -> Any:
    """Shapes of the tensor leaves in the structure of ``x``; non-tensor leaves as they are
    (e.g. ``((2, 3136, 96), (56, 56))`` for Swin's ``(x, hw_shape)``)."""
    if isinstance(x, torch.Tensor):
        return tuple(x.shape)
    if isinstance(x, (tuple, list)):
        return tuple(feature_shape(v) for v in x)
    return x


def loss_pair(student: Feature, teacher: Feature):
    """Feature-loss inputs: the tensors themselves, or the lists of tensor leaves."""
    if isinstance(student, torch.Tensor) and isinstance(teacher, torch.Tensor):
        return student, teacher
    return tensor_leaves(student), tensor_leaves(teacher)
