"""An mmpretrain ImageClassifier with StableKD's deployed boundary projectors inside."""
from typing import Any, List, Optional, Sequence

import torch
import torch.nn as nn
from mmpretrain.models import ImageClassifier

from mmstablekd.registry import MODELS
from ..utils.boundary_projector import BoundaryProjector
from ..utils.module_paths import get_submodule


def map_tensors(fn, x: Any) -> Any:
    """Apply ``fn`` to every tensor leaf of ``x`` (tensor or nested tuple/list)."""
    if isinstance(x, torch.Tensor):
        return fn(x)
    if isinstance(x, (tuple, list)):
        return type(x)(map_tensors(fn, v) for v in x)
    return x


@MODELS.register_module()
class BoundaryProjectedClassifier(ImageClassifier):
    """The student a heterogeneous StableKD run trained, projectors included.

    When student and teacher widths differ, StableKD bridges a boundary with a
    :class:`BoundaryProjector`; while that boundary is active, the next student block (up to
    the head) learns on ``from_teacher(teacher feature)``. If the boundary is still active in
    the last stage, the deployed student must feed that block ``from_teacher(to_teacher(own
    feature))``, as the paper counts the projector in the student (Table 6: 11.0M -> 11.6M
    parameters). This classifier is the student ``ImageClassifier`` (same ``backbone.*``,
    ``neck.*``, ``head.*`` weights) plus ``boundary_projectors.<i>.*`` applied by forward
    hooks to the outputs of the modules at ``boundary_projectors[i]['path']``.
    ``StudentCheckpointHook`` / ``tools/convert_student.py`` write its checkpoint and config.

    Args:
        boundary_projectors (Sequence[dict]): One dict per projector: ``path`` (module path in
            the classifier, e.g. ``'backbone.layer4'``), ``student_channels``,
            ``teacher_channels`` and ``dim`` (see :class:`BoundaryProjector`).
        **kwargs: ``ImageClassifier`` arguments (``backbone``, ``neck``, ``head`` ...).
    """

    def __init__(self, boundary_projectors: Sequence[dict] = (), **kwargs) -> None:
        super().__init__(**kwargs)
        if isinstance(boundary_projectors, dict) or not all(
                isinstance(p, dict) for p in boundary_projectors):
            raise TypeError('model.boundary_projectors must be a list of dicts with path, '
                            'student_channels, teacher_channels, dim; got '
                            f'{boundary_projectors!r}')
        self.boundary_paths: List[str] = []
        self.boundary_projectors = nn.ModuleList()
        for i, spec in enumerate(boundary_projectors):
            spec = dict(spec)
            path = spec.pop('path', None)
            module = get_submodule(self, path, f'model.boundary_projectors[{i}].path')
            try:
                projector = BoundaryProjector(**spec)
            except TypeError as e:
                raise TypeError(f'model.boundary_projectors[{i}]: {e}') from None
            self.boundary_paths.append(path)
            self.boundary_projectors.append(projector)
            module.register_forward_hook(self._make_hook(i))

    def _make_hook(self, i: int):
        def hook(module: nn.Module, args: tuple, output: Optional[Any]):
            return map_tensors(self.boundary_projectors[i], output)
        return hook
