"""The skeleton every block-wise distiller (StableKD, SSKD) is built on."""
from typing import Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from ..utils.cuts import ForwardTrace
from ..utils.default_boundaries import resolve_boundaries
from ..utils.features import Feature, detach, feature_shape, single_tensor, skeleton
from ..utils.probe import check_boundaries, probe_input_shape, trace_net
from .base import BaseDistiller


class BlockwiseDistiller(BaseDistiller):
    """A distiller that cuts student and teacher at matching module paths (boundaries).

    :meth:`setup_boundaries` does what every block-wise method needs at build time:

    1. trace student and teacher once on a dummy input (``probe_input_shape``, else the
       backbone's ``img_size``, else 32x32 and then 224x224);
    2. resolve the boundaries (defaults: the backbones' stages, see ``default_boundaries.py``);
    3. check each path: an existing module, listed once, run once per forward pass, in forward
       order, and a *cut* (no gradient crosses it when its output is detached);
    4. record the boundary modules (``self.student_modules`` / ``self.teacher_modules``) and
       their probe outputs.

    :meth:`width_mismatches` then yields the boundaries where the two networks' features
    differ, for the method's own 1x1 adapters.

    Subclasses set ``stage_hook``, implement ``num_stages``, ``set_stage``, :meth:`stage_str`
    and ``loss``; the stage hook (``engine/hooks/stage_plan.py``) drives them.
    """

    #: Whether an explicit ``boundaries=[]`` (a single block) is valid for the method.
    allow_no_boundaries: bool = False

    def setup_boundaries(self, boundaries: Optional[Sequence[str]],
                         teacher_boundaries: Optional[Sequence[str]],
                         probe_shape: Optional[Sequence[int]]
                         ) -> Tuple[List[Feature], List[Feature], ForwardTrace]:
        """Resolve, check and probe the boundaries of both networks (see class doc).

        Returns:
            tuple: (student outputs, teacher outputs) at the boundaries, detached, and the
            student's trace.
        """
        shape, auto = probe_input_shape(self.student, probe_shape)
        s_trace = trace_net(self.student, shape, auto, 'student')
        s_shape = _traced_shape(s_trace, shape)
        #: (C, H, W) of the student's build-time probe input.
        self.probe_shape = s_shape
        t_shape = self.teacher_probe_shape(s_shape)
        t_trace = trace_net(self.teacher, t_shape, auto, 'teacher')
        t_shape = _traced_shape(t_trace, t_shape)
        boundaries, teacher_boundaries = resolve_boundaries(
            self.student, self.teacher, boundaries, teacher_boundaries, s_trace, t_trace,
            s_shape[1:], t_shape[1:])
        empty_ok = self.allow_no_boundaries
        self.student_modules = check_boundaries(self.student, boundaries, s_trace,
                                                'model.boundaries', empty_ok)
        self.teacher_modules = check_boundaries(self.teacher, teacher_boundaries, t_trace,
                                                'model.teacher_boundaries', empty_ok)
        self.boundaries, self.teacher_boundaries = list(boundaries), list(teacher_boundaries)
        if len(self.teacher_boundaries) != len(self.boundaries):
            raise ValueError(f'model.teacher_boundaries has {len(self.teacher_boundaries)} '
                             f'entries but model.boundaries has {len(self.boundaries)}')
        s_feats = [detach(_output(self.student, s_trace, m)) for m in self.student_modules]
        t_feats = [detach(_output(self.teacher, t_trace, m)) for m in self.teacher_modules]
        return s_feats, t_feats, s_trace

    def stage_str(self, stage: Optional[int] = None) -> str:
        """What stage ``stage`` (default: the current one) trains, for the log."""
        raise NotImplementedError

    def where(self, idx: int) -> str:
        """``boundary i (student 'p', teacher 'q')`` for error messages."""
        return (f'boundary {idx} (student {self.boundaries[idx]!r}, teacher '
                f'{self.teacher_boundaries[idx]!r})')

    def width_mismatches(self, s_feats: List[Feature], t_feats: List[Feature]
                         ) -> Iterator[Tuple[int, torch.Tensor, torch.Tensor, int]]:
        """Boundaries whose student and teacher outputs differ in shape.

        Yields:
            tuple: (boundary index, student tensor, teacher tensor, channel axis) for
            (N, C, H, W) maps (axis 1) or (N, L, C) tokens (axis 2), alone or as the only
            tensor of a tuple (e.g. Swin's ``(x, hw_shape)``).

        Raises:
            ValueError: when the outputs are not such tensors, or differ in the layout.
        """
        for idx, (s, t) in enumerate(zip(s_feats, t_feats)):
            if feature_shape(s) == feature_shape(t):
                continue
            s_one, t_one = single_tensor(s), single_tensor(t)
            if s_one is None or t_one is None or s_one.dim() not in (3, 4) \
                    or s_one.dim() != t_one.dim():
                raise ValueError(f'{self.where(idx)}: feature shapes differ '
                                 f'({feature_shape(s)} vs {feature_shape(t)}) and are not '
                                 'both (N, C, H, W) maps or (N, L, C) tokens (alone or as the '
                                 'only tensor of a tuple)')
            yield idx, s_one, t_one, 1 if s_one.dim() == 4 else 2

    def same_layout(self, idx: int, s_feat: Feature, t_feat: Feature, s: torch.Tensor,
                    t: torch.Tensor, ch: int) -> None:
        """Raise unless student and teacher outputs differ only in the channel width."""
        s_rest = [d for i, d in enumerate(s.shape) if i != ch]
        t_rest = [d for i, d in enumerate(t.shape) if i != ch]
        if skeleton(s_feat) != skeleton(t_feat) or s_rest != t_rest:
            raise ValueError(f'{self.where(idx)}: student feature {feature_shape(s_feat)} and '
                             f'teacher feature {feature_shape(t_feat)} differ in more than '
                             'the channel width; choose boundaries with matching resolution')


def _traced_shape(trace: ForwardTrace, shape: Sequence[int]) -> Tuple[int, ...]:
    """The (C, H, W) the trace actually ran at (224x224 after a refused automatic size)."""
    return trace.input_shape or tuple(shape)


def _output(net: nn.Module, trace: ForwardTrace, module: nn.Module) -> Feature:
    name = {m: n for n, m in net.named_modules()}[module]
    return trace.call(name).output
