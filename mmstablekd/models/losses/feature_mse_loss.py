"""Mean squared error between student and teacher features."""
from typing import Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmstablekd.registry import MODELS
from ..utils.checks import check_weight

Features = Union[torch.Tensor, Sequence[torch.Tensor]]


@MODELS.register_module()
class FeatureMSELoss(nn.Module):
    r"""Element-wise MSE between a student feature and the teacher feature at one boundary.

    .. math:: \mathcal{L} = w \cdot \frac{1}{|x|} \sum_j (s_j - t_j)^2

    i.e. ``F.mse_loss`` with mean reduction over every element (batch, channels, positions),
    computed in fp32. Features that are tuples/lists of tensors (some backbones return them)
    give the mean of the per-tensor losses.

    Args:
        loss_weight (float): Weight :math:`w` (>= 0). Defaults to 1.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = check_weight(loss_weight, 'FeatureMSELoss.loss_weight')

    def forward(self, student: Features, teacher: Features) -> torch.Tensor:
        """Compute the loss.

        Args:
            student (Tensor | Sequence[Tensor]): e.g. (N, C, H, W) or (N, L, C).
            teacher (Tensor | Sequence[Tensor]): same shapes as ``student``.

        Returns:
            Tensor: scalar loss.
        """
        if isinstance(student, torch.Tensor):
            student, teacher = [student], [teacher]
        losses = []
        for s, t in zip(student, teacher):
            if s.shape != t.shape:
                raise ValueError(f'FeatureMSELoss: student feature {tuple(s.shape)} and teacher '
                                 f'feature {tuple(t.shape)} differ in shape')
            losses.append(F.mse_loss(s.float(), t.float()))
        return self.loss_weight * torch.stack(losses).mean()
