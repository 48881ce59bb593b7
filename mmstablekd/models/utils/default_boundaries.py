"""Default block boundaries of a classifier: the outputs of its backbone's stages."""
from typing import List

import torch.nn as nn


def default_boundaries(classifier: nn.Module, field: str) -> List[str]:
    """Module paths of the backbone's stages, e.g. ``['backbone.layer1', ..., 'backbone.layer4']``.

    Defined for mmpretrain's ResNet family (``ResNet``, ``ResNet_CIFAR``, ``ResNetV1c/d``,
    ``ResNeXt``, ``SEResNet`` ...) and mmstablekd's ``CifarResNet`` and ``WideResNet_CIFAR``,
    whose backbones list their stage modules in ``res_layers``, and for backbones that list
    them in ``stage_names`` (mmstablekd's ``CifarVGG``). Other backbones need explicit paths.

    Args:
        classifier (nn.Module): A built classifier with a ``backbone`` attribute.
        field (str): Config field to name in the error, e.g. ``'model.boundaries'``.

    Returns:
        list[str]: One dotted module path per backbone stage, in forward order.
    """
    backbone = getattr(classifier, 'backbone', None)
    names = getattr(backbone, 'stage_names', None) or getattr(backbone, 'res_layers', None)
    if not names or not all(isinstance(n, str) for n in names):
        raise ValueError(
            f'{field} is not set and has no default for backbone {type(backbone).__name__}: '
            'only backbones that name their stages (`res_layers` or `stage_names`) have one. '
            "Give the module paths that end each stage, e.g. ['backbone.stages.0', "
            "'backbone.stages.1', ...].")
    return [f'backbone.{n}' for n in names]


def resolve_boundaries(student: nn.Module, teacher: nn.Module, boundaries, teacher_boundaries):
    """The student's and the teacher's boundary paths as a distiller config gives them.

    Unset ``boundaries`` default to each backbone's stages (:func:`default_boundaries`); unset
    (or empty) ``teacher_boundaries`` default to the student's paths.

    Returns:
        tuple: (student paths, teacher paths), not yet validated.
    """
    if boundaries is None:
        boundaries = default_boundaries(student, 'model.boundaries')
        if teacher_boundaries is None:
            teacher_boundaries = default_boundaries(teacher, 'model.teacher_boundaries')
    return boundaries, teacher_boundaries or boundaries
