"""SSKD's stage loss: the squared L2 distance between two features."""
from typing import Sequence, Union

import torch
import torch.nn as nn

from mmstablekd.registry import MODELS
from ..utils.checks import check_weight

Features = Union[torch.Tensor, Sequence[torch.Tensor]]


@MODELS.register_module()
class FeatureL2Loss(nn.Module):
    r"""Squared L2 distance between student and teacher features.

    The SSKD paper (Gao et al., Sec. 3, Eq. 3/6) writes :math:`\psi(a, b) = \|a - b\|_2^2`,
    which ``reduction='sum'`` computes, averaged over the batch:

    .. math::
        \mathcal{L}_{sum} = \frac{w}{N} \sum_{n=1}^{N} \sum_{c} \sum_{p} (s_{n,c,p} - t_{n,c,p})^2

    (:math:`c` over channels, :math:`p` over the :math:`P` positions: :math:`H \cdot W` of a
    (N, C, H, W) map, :math:`L` of (N, L, C) tokens, 1 for (N, C) vectors). This is
    :math:`C \cdot P` times the element mean of
    :class:`~mmstablekd.models.losses.FeatureMSELoss`.

    ``reduction='channel_sum'`` sums over channels and averages over positions (and the
    batch), i.e. :math:`\mathcal{L}_{sum} / P`:

    .. math:: \mathcal{L}_{channel\_sum} = \frac{w}{N P} \sum_{n,c,p} (s_{n,c,p} - t_{n,c,p})^2

    The SSKD configs run ``'channel_sum'`` at the paper's uniform LR 0.01 (momentum 0.9),
    chosen by measurement (``benchmarks/sskd_digits.py``, ``benchmarks/sskd_digits.md``, 32x32
    digits, trained teachers): with ``'sum'``, the R-34 -> R-18 recipe diverges in its first
    stage at LR 0.01 (loss 3e5 -> 8e12, then non-finite weights: the curvature a stage's
    BatchNorm bias sees grows with :math:`P`); with ``'channel_sum'`` every stage loss of the
    measured recipes stays finite and falls at 0.01 (the file lists which configs ran).

    A feature given as a tuple/list of tensors is treated as their concatenation for
    ``'sum'`` (the per-tensor sums add up); for ``'channel_sum'`` each tensor's position mean
    is taken separately and the results add up. Computed in fp32.

    Args:
        loss_weight (float): Weight :math:`w` (>= 0). Defaults to 1.
        reduction (str): ``'sum'`` (the paper's formula, over all :math:`C \cdot P` elements
            of a sample) or ``'channel_sum'`` (sum over channels, mean over positions).
            Defaults to ``'sum'``.
    """

    REDUCTIONS = ('sum', 'channel_sum')

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'sum') -> None:
        super().__init__()
        self.loss_weight = check_weight(loss_weight, 'FeatureL2Loss.loss_weight')
        if reduction not in self.REDUCTIONS:
            raise ValueError(f'FeatureL2Loss: reduction must be one of {self.REDUCTIONS}, '
                             f'got {reduction!r}')
        self.reduction = reduction

    def forward(self, student: Features, teacher: Features) -> torch.Tensor:
        """Compute the loss.

        Args:
            student (Tensor | Sequence[Tensor]): (N, C, H, W) maps, (N, L, C) tokens or
                (N, C) vectors.
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
            total = total + diff.pow(2).sum() / (s.shape[0] * self._positions(s))
        return self.loss_weight * total

    def _positions(self, feature: torch.Tensor) -> int:
        """Number of positions P a sample's squared error is averaged over (1 for 'sum')."""
        if self.reduction == 'sum' or feature.dim() <= 2:
            return 1
        channels = feature.shape[1] if feature.dim() == 4 else feature.shape[-1]
        return feature[0].numel() // channels
