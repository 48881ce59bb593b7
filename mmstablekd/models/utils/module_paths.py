"""Resolve boundary module paths such as ``backbone.layer1`` or ``backbone.stages.2``."""
import torch.nn as nn


def get_submodule(model: nn.Module, path: str, field: str) -> nn.Module:
    """Return ``model``'s sub-module at the dotted ``path`` or raise a clear error.

    Args:
        model (nn.Module): The network (e.g. a student ``ImageClassifier``).
        path (str): Dotted module path, e.g. ``'backbone.layer2'``.
        field (str): Config field to name in the error, e.g. ``'model.boundaries[1]'``.

    Returns:
        nn.Module: the sub-module.
    """
    if not isinstance(path, str) or not path:
        raise TypeError(f'{field} must be a non-empty module path string, got {path!r}')
    module = model
    walked = []
    for name in path.split('.'):
        children = dict(module.named_children())
        if name not in children:
            where = '.'.join(walked) or '<root>'
            raise ValueError(
                f'{field}={path!r}: {type(module).__name__} at {where!r} has no child '
                f'{name!r}; its children are {sorted(children)}')
        module = children[name]
        walked.append(name)
    return module
