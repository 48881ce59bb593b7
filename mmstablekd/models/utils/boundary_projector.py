"""The pair of 1x1 projectors StableKD puts on a boundary where student and teacher widths
differ."""
import torch
import torch.nn as nn


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
        layer = nn.Conv2d if dim == 4 else nn.Linear
        kw = dict(kernel_size=1) if dim == 4 else {}
        super().__init__(dict(to_teacher=layer(student_channels, teacher_channels, **kw),
                              from_teacher=layer(teacher_channels, student_channels, **kw)))
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
