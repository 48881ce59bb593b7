"""DKD: decoupled knowledge distillation (Zhao et al., CVPR 2022)."""
from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import MessageHub

from mmstablekd.registry import MODELS
from ..utils.checks import check_number, check_temperature, check_weight
from .kd_loss import check_logits


def _labels(data_samples: List, preds: torch.Tensor) -> torch.Tensor:
    """(N,) class indices from mmpretrain ``DataSample`` s (``gt_label``)."""
    if data_samples is None or len(data_samples) != preds.shape[0]:
        got = 'None' if data_samples is None else len(data_samples)
        raise ValueError(f'DKDLoss needs one data sample with a gt_label per prediction '
                         f'({preds.shape[0]}), got {got}')
    labels = torch.cat([s.gt_label.reshape(-1)[:1] for s in data_samples])
    return labels.to(device=preds.device, dtype=torch.long)


def _binary_log_probs(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(N, 2) log-probabilities of "the target class" and "any other class" under
    ``softmax(logits)``, computed in log space (no ``log(1 - p)`` underflow)."""
    log_z = torch.logsumexp(logits, dim=1)
    log_target = logits.gather(1, target[:, None]).squeeze(1) - log_z
    log_rest = torch.logsumexp(logits.masked_fill(F.one_hot(target, logits.shape[1]).bool(),
                                                  float('-inf')), dim=1) - log_z
    return torch.stack([log_target, log_rest], dim=1)


def _non_target_log_probs(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(N, C) log-probabilities over the non-target classes only (0 at the target, which is
    excluded from the distribution)."""
    return F.log_softmax(logits.masked_fill(mask, float('-inf')), dim=1).masked_fill(mask, 0.0)


def _kl_rows(log_p: torch.Tensor, log_q: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Per-element KL terms ``p (log p - log q)`` where ``keep``, else 0."""
    return torch.where(keep, log_p.exp() * (log_p - log_q), torch.zeros_like(log_p))


@MODELS.register_module()
class DKDLoss(nn.Module):
    r"""Decoupled KD: target-class (TCKD) and non-target-class (NCKD) terms, weighted apart.

    With :math:`b = [p_y, 1 - p_y]` the binary "target vs. the rest" probabilities of
    :math:`\mathrm{softmax}(z/\tau)` and :math:`\hat p` the softmax over the non-target
    classes only (Zhao et al., CVPR 2022, Eq. 1-7):

    .. math::
        \mathcal{L} = w\,\lambda(e)\,\tau^2\,\big(\alpha\,\mathrm{KL}(b^t \| b^s)
            + \beta\,\mathrm{KL}(\hat p^t \| \hat p^s)\big)

    summed over classes and averaged over the batch (``reduction='batchmean'``). The
    warm-up :math:`\lambda(e) = \min(e / \text{warmup\_epochs}, 1)` with the 1-based epoch
    :math:`e` is the released code's (mdistiller ``mdistiller/distillers/DKD.py``:
    ``min(epoch / warmup, 1)``, warm-up 20 epochs on CIFAR-100); the epoch is read from
    MMEngine's ``MessageHub`` (``RuntimeInfoHook`` records it every epoch; outside a
    runner it counts as the first). ``warmup_epochs=0`` (default) has no warm-up, as
    MMRazor's loss.

    MMRazor's arguments and call are kept, so its DKD configs port unchanged:
    ``DKDLoss(tau, alpha, beta, reduction, loss_weight)`` and
    ``loss(preds_S, preds_T, data_samples)``; the labels are the samples' ``gt_label``
    (with Mixup/CutMix, mmpretrain keeps the original label there and puts the mixed target
    in ``gt_score``; DKD's split needs one target class, so the original is used). Computed
    in fp32 even under autocast; the teacher logits get no gradient.

    Args:
        tau (float): Temperature :math:`\tau` (> 0). Defaults to 4 (the paper's CIFAR-100
            value, MMRazor's default).
        alpha (float): TCKD weight :math:`\alpha` (>= 0). Defaults to 1.
        beta (float): NCKD weight :math:`\beta` (>= 0). Defaults to 8.
        reduction (str): ``'batchmean'`` (sum over classes, mean over the batch),
            ``'sum'`` or ``'mean'`` (over all elements, as ``F.kl_div``). Defaults to
            ``'batchmean'``.
        loss_weight (float): Weight :math:`w` (>= 0). Defaults to 1.
        warmup_epochs (int): Linear warm-up length in epochs (>= 0; 0: none). Defaults to 0.
    """

    REDUCTIONS = ('batchmean', 'sum', 'mean')

    def __init__(self, tau: float = 4.0, alpha: float = 1.0, beta: float = 8.0,
                 reduction: str = 'batchmean', loss_weight: float = 1.0,
                 warmup_epochs: int = 0) -> None:
        super().__init__()
        self.tau = check_temperature(tau, 'DKDLoss.tau')
        self.alpha = check_weight(alpha, 'DKDLoss.alpha')
        self.beta = check_weight(beta, 'DKDLoss.beta')
        self.loss_weight = check_weight(loss_weight, 'DKDLoss.loss_weight')
        if reduction not in self.REDUCTIONS:
            raise ValueError(f'DKDLoss.reduction must be one of {self.REDUCTIONS} (a '
                             f'distiller needs a scalar loss), got {reduction!r}')
        self.reduction = reduction
        if isinstance(warmup_epochs, float) and warmup_epochs.is_integer():
            warmup_epochs = int(warmup_epochs)
        if not isinstance(warmup_epochs, int):
            raise TypeError(f'DKDLoss.warmup_epochs must be an int, got {warmup_epochs!r}')
        self.warmup_epochs = int(check_number(warmup_epochs, 'DKDLoss.warmup_epochs', low=0))

    def warmup_factor(self) -> float:
        """:math:`\\lambda(e)` of the current epoch (1 without warm-up)."""
        if not self.warmup_epochs:
            return 1.0
        epoch = MessageHub.get_current_instance().get_info('epoch') or 0
        return min((int(epoch) + 1) / self.warmup_epochs, 1.0)

    def terms(self, preds_S: torch.Tensor, preds_T: torch.Tensor,
              labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """The reduced TCKD and NCKD terms (with :math:`\\tau^2`, without the weights).

        Args:
            preds_S (Tensor): (N, C) student logits.
            preds_T (Tensor): (N, C) teacher logits.
            labels (Tensor): (N,) target classes.

        Returns:
            tuple[Tensor, Tensor]: scalar fp32 TCKD and NCKD.
        """
        s = preds_S.float() / self.tau
        t = preds_T.detach().float() / self.tau
        mask = F.one_hot(labels, s.shape[1]).bool()
        tckd = _kl_rows(_binary_log_probs(t, labels), _binary_log_probs(s, labels),
                        torch.ones(s.shape[0], 2, dtype=torch.bool, device=s.device))
        nckd = _kl_rows(_non_target_log_probs(t, mask), _non_target_log_probs(s, mask), ~mask)
        return self._reduce(tckd) * self.tau**2, self._reduce(nckd) * self.tau**2

    def _reduce(self, elements: torch.Tensor) -> torch.Tensor:
        if self.reduction == 'sum':
            return elements.sum()
        if self.reduction == 'mean':
            return elements.mean()
        return elements.sum() / elements.shape[0]

    def forward(self, preds_S: torch.Tensor, preds_T: torch.Tensor,
                data_samples: List) -> torch.Tensor:
        """Compute the loss.

        Args:
            preds_S (Tensor): (N, C) student logits.
            preds_T (Tensor): (N, C) teacher logits.
            data_samples (list[DataSample]): The batch's samples, with ``gt_label``.

        Returns:
            Tensor: scalar fp32 loss.
        """
        check_logits(preds_S, preds_T, type(self).__name__)
        with torch.autocast(device_type=preds_S.device.type, enabled=False):
            tckd, nckd = self.terms(preds_S, preds_T, _labels(data_samples, preds_S))
            loss = self.alpha * tckd + self.beta * nckd
        return self.loss_weight * self.warmup_factor() * loss
