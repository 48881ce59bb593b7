"""DIST: knowledge distillation from a stronger teacher by Pearson relations (Huang et al.)."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmstablekd.registry import MODELS
from ..utils.all_gather import check_gather_possible, gather_batch
from ..utils.checks import check_temperature, check_weight
from .kd_loss import check_logits


def pearson_distance(a: torch.Tensor, b: torch.Tensor, dim: int,
                     eps: float = 1e-8) -> torch.Tensor:
    r"""Pearson distance :math:`1 - \rho(a, b)` along ``dim``, as the DIST authors compute it.

    .. math::
        \rho(u, v) = \frac{\sum_j (u_j - \bar u)(v_j - \bar v)}
            {\|u - \bar u\|_2\,\|v - \bar v\|_2 + \epsilon}

    This is the released code's formula (the cosine similarity of the centred vectors with
    :math:`\epsilon` added to the product of the norms; hunto/DIST_KD, MMRazor's
    ``dist_loss.py``). Where a vector is (nearly) constant, e.g. a class column of
    near-zero probabilities over the batch, the norms are far below :math:`\epsilon`, so its
    :math:`\rho` is about 0 (distance about 1, almost no gradient) instead of the exact
    correlation; an exactly constant vector gives :math:`\rho = 0` with finite gradients.

    Args:
        a (Tensor): e.g. (N, C).
        b (Tensor): same shape as ``a``.
        dim (int): the dimension the correlation runs over (1: per row, 0: per column).
        eps (float): :math:`\epsilon` added to the denominator. Defaults to 1e-8 (released).

    Returns:
        Tensor: the distances, ``a`` with ``dim`` reduced, e.g. (N,) for ``dim=1``.
    """
    a = a - a.mean(dim, keepdim=True)
    b = b - b.mean(dim, keepdim=True)
    rho = (a * b).sum(dim) / (a.norm(dim=dim) * b.norm(dim=dim) + eps)
    return 1.0 - rho


def _alias(value: Optional[float], alias: Optional[float], name: str, alias_name: str) -> float:
    """One weight given under our name or MMRazor's; both only if equal. Default 1."""
    if value is not None and alias is not None and value != alias:
        raise ValueError(f'DISTLoss: {name}={value} and {alias_name}={alias} are the same '
                         'weight under two names; give only one')
    chosen = value if value is not None else alias
    field = name if value is not None else alias_name
    return check_weight(1.0 if chosen is None else chosen, f'DISTLoss.{field}')


@MODELS.register_module()
class DISTLoss(nn.Module):
    r"""DIST: inter- and intra-class Pearson relations of the predictions.

    With :math:`Y = \mathrm{softmax}(z / \tau)` row-wise for student (s) and teacher (t) and
    :math:`d_p = 1 - \rho` (:func:`pearson_distance`, the released formula with
    :math:`\epsilon`):

    .. math::
        \mathcal{L}_{inter} = \frac{1}{N}\sum_{i=1}^{N} d_p(Y^s_{i,:}, Y^t_{i,:}),\quad
        \mathcal{L}_{intra} = \frac{1}{C}\sum_{j=1}^{C} d_p(Y^s_{:,j}, Y^t_{:,j})

    .. math::
        \mathcal{L} = w\,\tau^2\,(\beta\,\mathcal{L}_{inter} + \gamma\,\mathcal{L}_{intra})

    The authors' recipes (image_classification_sota ``resnet_dist.yaml``/``dist_cifar.yaml``)
    use :math:`\beta = \gamma = 1`, :math:`w = 2` next to CE weight 1, and :math:`\tau = 1`
    (ImageNet) or 4 (CIFAR-100). Computed in fp32 even under autocast (:math:`\epsilon`
    vanishes in fp16).

    MMRazor's argument names are accepted too, so its DIST configs port unchanged:
    ``inter_loss_weight`` (= ``beta``), ``intra_loss_weight`` (= ``gamma``), ``tau``,
    ``loss_weight`` and ``teacher_detach``.

    **Across processes.** The intra-class term correlates each class over the batch. By
    default (as in every public implementation) that is the batch this process sees, so
    under data-parallel training it depends on the per-GPU batch. With
    ``gather_intra=True`` it is computed over the global batch: the predictions of all ranks
    are all-gathered (gradients flow back to each rank's own part, summed over ranks so that
    DDP's gradient average equals the single-process gradient on the concatenated batch).
    The inter-class term is a per-sample mean either way.

    Degenerate inputs (no NaN, no error): constant logits give uniform predictions, whose
    centred vectors are 0, so :math:`\rho = 0`; all-constant logits give
    :math:`w\tau^2(\beta + \gamma)` with finite gradients. ``N = 1``: the intra-class term is
    1; ``C = 1``: the inter-class term is 1.

    Args:
        beta (float, optional): Weight :math:`\beta` (>= 0) of the inter-class term.
            Defaults to 1.
        gamma (float, optional): Weight :math:`\gamma` (>= 0) of the intra-class term.
            Defaults to 1.
        tau (float): Temperature :math:`\tau` (> 0). Defaults to 1.
        loss_weight (float): Weight :math:`w` (>= 0) of the whole term. Defaults to 1.
        eps (float): :math:`\epsilon` (> 0) of the Pearson denominator. Defaults to 1e-8,
            the released value.
        gather_intra (bool): Compute the intra-class term over the batch of all processes.
            Defaults to False.
        inter_loss_weight (float, optional): MMRazor's name of ``beta``.
        intra_loss_weight (float, optional): MMRazor's name of ``gamma``.
        teacher_detach (bool): Detach the teacher logits (MMRazor's argument). Defaults to
            True.
    """

    def __init__(self,
                 beta: Optional[float] = None,
                 gamma: Optional[float] = None,
                 tau: float = 1.0,
                 loss_weight: float = 1.0,
                 eps: float = 1e-8,
                 gather_intra: bool = False,
                 inter_loss_weight: Optional[float] = None,
                 intra_loss_weight: Optional[float] = None,
                 teacher_detach: bool = True) -> None:
        super().__init__()
        self.beta = _alias(beta, inter_loss_weight, 'beta', 'inter_loss_weight')
        self.gamma = _alias(gamma, intra_loss_weight, 'gamma', 'intra_loss_weight')
        self.tau = check_temperature(tau, 'DISTLoss.tau')
        self.loss_weight = check_weight(loss_weight, 'DISTLoss.loss_weight')
        self.eps = check_temperature(eps, 'DISTLoss.eps')
        if not isinstance(gather_intra, bool):
            raise TypeError(f'DISTLoss: gather_intra must be True or False, got {gather_intra!r}')
        if gather_intra:
            check_gather_possible('DISTLoss.gather_intra')
        self.gather_intra = gather_intra
        self.teacher_detach = bool(teacher_detach)

    def forward(self, student_logits: torch.Tensor,
                teacher_logits: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            student_logits (Tensor): (N, C) student logits.
            teacher_logits (Tensor): (N, C) teacher logits.

        Returns:
            Tensor: scalar fp32 loss.
        """
        check_logits(student_logits, teacher_logits, type(self).__name__)
        if self.teacher_detach:
            teacher_logits = teacher_logits.detach()
        with torch.autocast(device_type=student_logits.device.type, enabled=False):
            y_s = F.softmax(student_logits.float() / self.tau, dim=1)
            y_t = F.softmax(teacher_logits.float() / self.tau, dim=1)
            inter = pearson_distance(y_s, y_t, dim=1, eps=self.eps).mean()
            if self.gather_intra:
                y_s, y_t = gather_batch(y_s), gather_batch(y_t)
            intra = pearson_distance(y_s, y_t, dim=0, eps=self.eps).mean()
            loss = self.tau**2 * (self.beta * inter + self.gamma * intra)
        return self.loss_weight * loss
