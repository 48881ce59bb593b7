"""Hinton's knowledge-distillation loss."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmstablekd.registry import MODELS


@MODELS.register_module()
class KDLoss(nn.Module):
    r"""Temperature-scaled KL divergence between teacher and student predictions.

    .. math::
        \mathcal{L} = w \cdot \tau^2 \cdot \frac{1}{N} \sum_{i=1}^{N}
            \mathrm{KL}\big(\mathrm{softmax}(t_i/\tau) \,\|\, \mathrm{softmax}(s_i/\tau)\big)

    The KL is summed over classes and averaged over the batch ("batchmean"). It is computed
    in fp32 even under autocast. Equal (e.g. constant) logits give exactly 0.

    Args:
        tau (float): Temperature :math:`\tau` (> 0). Defaults to 1.
        loss_weight (float): Weight :math:`w`. Defaults to 1.
    """

    def __init__(self, tau: float = 1.0, loss_weight: float = 1.0) -> None:
        super().__init__()
        if tau <= 0:
            raise ValueError(f'KDLoss: tau must be > 0, got {tau}')
        self.tau = float(tau)
        self.loss_weight = float(loss_weight)

    def forward(self, student_logits: torch.Tensor,
                teacher_logits: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            student_logits (Tensor): (N, C) student logits.
            teacher_logits (Tensor): (N, C) teacher logits (no gradient needed).

        Returns:
            Tensor: scalar loss.
        """
        check_logits(student_logits, teacher_logits, type(self).__name__)
        log_s = F.log_softmax(student_logits.float() / self.tau, dim=1)
        log_t = F.log_softmax(teacher_logits.float() / self.tau, dim=1)
        kl = F.kl_div(log_s, log_t, reduction='batchmean', log_target=True)
        return self.loss_weight * self.tau**2 * kl


def check_logits(student: torch.Tensor, teacher: torch.Tensor, name: str) -> None:
    """Raise a clear error unless both logits are (N, C) tensors of the same shape."""
    if student.dim() != 2 or student.shape != teacher.shape:
        raise ValueError(f'{name} expects student and teacher logits of the same (N, C) '
                         f'shape, got {tuple(student.shape)} and {tuple(teacher.shape)}')
