"""The 1x1 adapters of the block-wise distillers where student and teacher widths differ:
StableKD's pair of projectors (:class:`BoundaryProjector`) and SSKD's one-way
:class:`StageAdapter`, both built from :func:`conv1x1`."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv1x1(in_channels: int, out_channels: int, dim: int) -> nn.Module:
    """A 1x1 layer between widths: ``Conv2d`` for (N, C, H, W) features (``dim=4``),
    ``Linear`` on the last axis for (N, L, C) tokens (``dim=3``)."""
    if dim not in (3, 4):
        raise ValueError(f'a 1x1 projector needs dim 3 (N, L, C) or 4 (N, C, H, W), got {dim!r}')
    if dim == 4:
        return nn.Conv2d(in_channels, out_channels, kernel_size=1)
    return nn.Linear(in_channels, out_channels)


class BoundaryProjector(nn.ModuleDict):
    """``to_teacher`` (student width -> teacher width) and ``from_teacher`` (back).

    In training, ``to_teacher`` maps the student's feature for the feature loss and
    ``from_teacher`` maps the teacher's feature into the next student block. Calling the
    module maps a *student* feature the way the next block learned to receive it:
    ``from_teacher(to_teacher(x))``; this is the projector that stays in the deployed student.
    The two layers are reachable as attributes or items (``p.to_teacher``, ``p['to_teacher']``).

    Args:
        student_channels (int): Student width at the boundary.
        teacher_channels (int): Teacher width at the boundary.
        dim (int): 4 for (N, C, H, W) features (``Conv2d`` 1x1), 3 for (N, L, C) tokens
            (``Linear`` on the last axis).
    """

    def __init__(self, student_channels: int, teacher_channels: int, dim: int = 4) -> None:
        if dim not in (3, 4):
            raise ValueError(f'BoundaryProjector.dim must be 3 (N, L, C) or 4 (N, C, H, W), '
                             f'got {dim!r}')
        super().__init__(dict(to_teacher=conv1x1(student_channels, teacher_channels, dim),
                              from_teacher=conv1x1(teacher_channels, student_channels, dim)))
        self.student_channels = student_channels
        self.teacher_channels = teacher_channels
        self.dim = dim

    def spec(self) -> dict:
        """Constructor arguments (to rebuild the same module in an exported student)."""
        return dict(student_channels=self.student_channels,
                    teacher_channels=self.teacher_channels, dim=self.dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_s, H, W) or (N, L, C_s) student feature -> the same shape, round-tripped
        through the teacher's width."""
        return self.from_teacher(self.to_teacher(x))


class StageAdapter(nn.Module):
    """Map a student stage output onto the teacher's shape for SSKD's feature loss.

    :func:`conv1x1` when the widths differ, then a bilinear resize to the teacher's (H, W)
    when the spatial sizes differ (as in the SSKD paper: "add an additional convolution layer
    with 1x1 kernel size to student ... resize the student's feature map"). Used only for the
    loss; not part of the exported student.

    Args:
        in_channels (int): Student width.
        out_channels (int): Teacher width.
        dims (int): 4 for (N, C, H, W) maps, 3 for (N, L, C) tokens.
    """

    def __init__(self, in_channels: int, out_channels: int, dims: int) -> None:
        super().__init__()
        self.proj = nn.Identity() if in_channels == out_channels else \
            conv1x1(in_channels, out_channels, dims)

    def forward(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """(N, C_s, H_s, W_s) -> (N, C_t, H_t, W_t), or (N, L, C_s) -> (N, L, C_t)."""
        out = self.proj(student)
        if out.dim() == 4 and out.shape[-2:] != teacher.shape[-2:]:
            out = F.interpolate(out, size=teacher.shape[-2:], mode='bilinear',
                                align_corners=False)
        return out
