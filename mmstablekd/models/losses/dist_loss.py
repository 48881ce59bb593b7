"""DIST: knowledge distillation from a stronger teacher by Pearson relations (Huang et al.)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmstablekd.registry import MODELS
from .kd_loss import check_logits


def pearson_distance(a: torch.Tensor, b: torch.Tensor, dim: int,
                     eps: float = 1e-8) -> torch.Tensor:
    r"""Pearson distance :math:`1 - \rho(a, b)` along ``dim``.

    .. math::
        \rho(u, v) = \frac{\sum_j (u_j - \bar u)(v_j - \bar v)}
            {\max\big(\sqrt{\sum_j (u_j - \bar u)^2 \sum_j (v_j - \bar v)^2},\ \epsilon\big)}

    Each centred vector is first divided by its largest absolute entry (:math:`\rho` is
    invariant to that, and the scale is treated as a constant, which leaves the gradient
    exact), so tiny probabilities neither underflow nor meet the :math:`\epsilon` clamp: for
    every non-constant vector the value is the textbook Pearson correlation. A vector whose
    entries are all equal (e.g. the softmax of constant logits) is centred to exact zeros,
    so its :math:`\rho` is 0 and its distance exactly 1, with zero (not NaN) gradient.

    Args:
        a (Tensor): e.g. (N, C).
        b (Tensor): same shape as ``a``.
        dim (int): the dimension the correlation runs over (1: per row, 0: per column).
        eps (float): Clamp :math:`\epsilon` of the denominator; only zero (constant)
            vectors reach it, since rescaled non-zero vectors have norms >= 1. Defaults to 1e-8.

    Returns:
        Tensor: the distances, ``a`` with ``dim`` reduced, e.g. (N,) for ``dim=1``.
    """
    a, b = _centre(a, dim), _centre(b, dim)
    cov = (a * b).sum(dim)
    var_prod = (a * a).sum(dim) * (b * b).sum(dim)
    return 1.0 - cov / var_prod.clamp_min(eps * eps).sqrt()


def _centre(x: torch.Tensor, dim: int) -> torch.Tensor:
    """``x - mean`` along ``dim``, rescaled to max ``|.|`` 1; exact zeros if constant."""
    constant = x.amax(dim, keepdim=True) == x.amin(dim, keepdim=True)
    x = torch.where(constant, torch.zeros_like(x), x - x.mean(dim, keepdim=True))
    scale = x.detach().abs().amax(dim, keepdim=True).clamp_min(torch.finfo(x.dtype).tiny)
    return x / scale


@MODELS.register_module()
class DISTLoss(nn.Module):
    r"""DIST: inter- and intra-class Pearson relations of the predictions.

    With :math:`Y = \mathrm{softmax}(z / \tau)` row-wise for student (s) and teacher (t),
    :math:`d_p = 1 - \rho_{\text{Pearson}}`:

    .. math::
        \mathcal{L}_{inter} = \frac{1}{N}\sum_{i=1}^{N} d_p(Y^s_{i,:}, Y^t_{i,:}),\quad
        \mathcal{L}_{intra} = \frac{1}{C}\sum_{j=1}^{C} d_p(Y^s_{:,j}, Y^t_{:,j})

    .. math::
        \mathcal{L} = w\,\tau^2\,(\beta\,\mathcal{L}_{inter} + \gamma\,\mathcal{L}_{intra})

    Both terms are means (over samples, over classes). Computed in fp32 even under
    autocast: the Pearson denominators are products of small numbers that underflow in fp16.
    The intra-class term correlates over the batch this process sees (as in every public DIST
    implementation): under data-parallel training it is the per-GPU batch.

    Degenerate inputs (no NaN, no error):

    * a constant row of logits gives a uniform prediction, whose centred vector is 0, so its
      inter-class distance is exactly 1; a class column that is constant over the batch gives
      an intra-class distance of exactly 1 (see :func:`pearson_distance`). All-constant
      logits therefore give :math:`w\tau^2(\beta + \gamma)`, with finite gradients.
    * ``N = 1``: the intra-class term is exactly 1 (a single sample has no spread).
    * ``C = 1``: the inter-class term is exactly 1.

    Args:
        beta (float): Weight :math:`\beta` of the inter-class term. Defaults to 1.
        gamma (float): Weight :math:`\gamma` of the intra-class term. Defaults to 1.
        tau (float): Temperature :math:`\tau` (> 0). Defaults to 1.
        loss_weight (float): Weight :math:`w`. Defaults to 1.
        eps (float): Clamp of the Pearson denominator (see :func:`pearson_distance`).
            Defaults to 1e-8.
    """

    def __init__(self,
                 beta: float = 1.0,
                 gamma: float = 1.0,
                 tau: float = 1.0,
                 loss_weight: float = 1.0,
                 eps: float = 1e-8) -> None:
        super().__init__()
        if tau <= 0:
            raise ValueError(f'DISTLoss: tau must be > 0, got {tau}')
        if beta < 0 or gamma < 0:
            raise ValueError(f'DISTLoss: beta and gamma must be >= 0, got {beta} and {gamma}')
        if eps <= 0:
            raise ValueError(f'DISTLoss: eps must be > 0, got {eps}')
        self.beta = float(beta)
        self.gamma = float(gamma)
        self.tau = float(tau)
        self.loss_weight = float(loss_weight)
        self.eps = float(eps)

    def forward(self, student_logits: torch.Tensor,
                teacher_logits: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            student_logits (Tensor): (N, C) student logits.
            teacher_logits (Tensor): (N, C) teacher logits (no gradient needed).

        Returns:
            Tensor: scalar fp32 loss.
        """
        check_logits(student_logits, teacher_logits, type(self).__name__)
        with torch.autocast(device_type=student_logits.device.type, enabled=False):
            y_s = F.softmax(student_logits.float() / self.tau, dim=1)
            y_t = F.softmax(teacher_logits.float() / self.tau, dim=1)
            inter = pearson_distance(y_s, y_t, dim=1, eps=self.eps).mean()
            intra = pearson_distance(y_s, y_t, dim=0, eps=self.eps).mean()
            loss = self.tau**2 * (self.beta * inter + self.gamma * intra)
        return self.loss_weight * loss
