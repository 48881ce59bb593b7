"""SSKD's stage loss: the squared L2 distance between two features, summed per sample."""
from typing import Sequence, Union

import torch
import torch.nn as nn

from mmstablekd.registry import MODELS
from ..utils.checks import check_weight

Features = Union[torch.Tensor, Sequence[torch.Tensor]]


@MODELS.register_module()
class FeatureL2Loss(nn.Module):
    r"""Squared L2 distance between student and teacher features, a sum within each sample.

    The SSKD paper's (Gao et al., Sec. 3, Eq. 3/6) :math:`\psi(a, b) = \|a - b\|_2^2`,
    averaged over the batch:

    .. math:: \mathcal{L} = \frac{w}{N} \sum_{n=1}^{N} \sum_{j} (s_{n,j} - t_{n,j})^2

    where :math:`j` runs over every element of a sample's feature (channels and positions).
    This is :math:`C \cdot H \cdot W` times the element mean of
    :class:`~mmstablekd.models.losses.FeatureMSELoss`; the paper's learning rate (0.01)
    assumes this sum. A feature given as a tuple/list of tensors is treated as their
    concatenation (the per-tensor sums add up). Computed in fp32.

    Args:
        loss_weight (float): Weight :math:`w` (>= 0). Defaults to 1.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = check_weight(loss_weight, 'FeatureL2Loss.loss_weight')

    def forward(self, student: Features, teacher: Features) -> torch.Tensor:
        """Compute the loss.

        Args:
            student (Tensor | Sequence[Tensor]): e.g. (N, C, H, W) or (N, L, C).
            teacher (Tensor | Sequence[Tensor]): same shapes as ``student``.

        Returns:
            Tensor: scalar fp32 loss.
        """
        if isinstance(student, torch.Tensor):
            student, teacher = [student], [teacher]
        total = 0.0
        for s, t in zip(student, teacher):
            if s.shape != t.shape:
                raise ValueError(f'FeatureL2Loss: student feature {tuple(s.shape)} and teacher '
                                 f'feature {tuple(t.shape)} differ in shape')
            diff = s.float() - t.float()
            total = total + diff.pow(2).sum() / s.shape[0]
        return self.loss_weight * total
