"""Logit distillers: any logit loss (:class:`LogitDistiller`), vanilla KD and DIST.

Each is ``weighted CE + a loss between student and teacher logits``; vanilla KD (Hinton et
al.) and DIST (Huang et al.) differ only in the weights and the logit loss, so they are
:class:`LogitDistiller` with their paper's argument names. A new logit method needs only its
loss: ``dict(type='LogitDistiller', distill_loss=dict(type='MyLoss', ...), ...)``.
"""
import inspect
from typing import Dict, List, Optional

import torch

from mmstablekd.registry import MODELS
from ..utils.all_gather import check_gather_possible
from ..utils.checks import check_number, check_temperature, check_weight
from .base import BaseDistiller, head_loss, logit_loss


@MODELS.register_module()
class LogitDistiller(BaseDistiller):
    """``ce_weight * CE + distill_loss(student logits, teacher logits[, data_samples])``.

    The teacher (frozen, eval mode) runs once per batch without grad; the student runs once
    and its head computes its own task loss (so label smoothing / mixup targets configured on
    the student head apply). ``predict`` / ``tensor`` run the pure student.

    The loss contract is MMRazor's: ``loss(preds_S, preds_T)``, or
    ``loss(preds_S, preds_T, data_samples)`` when the loss's ``forward`` has a third
    parameter named ``data_samples`` (a target-aware loss such as
    :class:`~mmstablekd.models.losses.DKDLoss` reads the labels from them), so such a loss
    plugs in without a distiller of its own.

    Args:
        student (dict): Student classifier config.
        teacher (dict): Teacher classifier config.
        ce_weight (float): Weight (>= 0) of the student head's loss. Defaults to 1.
        distill_loss (dict): Loss between (N, C) student and teacher logits (see above).
        loss_name (str): Key of the distillation loss in the loss dict (``loss_*``).
            Defaults to ``'loss_distill'``.
        teacher_ckpt (str, optional): Teacher checkpoint.
        data_preprocessor (dict, optional): Overrides the student's preprocessor.
        init_cfg (dict, optional): Init config.
        teacher_data_preprocessor (dict, optional): The teacher's own normalisation / resize of
            the student's (mixed) batch; see :class:`BaseDistiller`.
    """

    def __init__(self,
                 student: dict,
                 teacher: dict,
                 distill_loss: dict,
                 ce_weight: float = 1.0,
                 loss_name: str = 'loss_distill',
                 teacher_ckpt: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 teacher_data_preprocessor: Optional[dict] = None) -> None:
        super().__init__(student, teacher, teacher_ckpt, data_preprocessor, init_cfg,
                         teacher_data_preprocessor=teacher_data_preprocessor)
        if not isinstance(loss_name, str) or not loss_name.startswith('loss_'):
            raise ValueError(f'model.loss_name must start with "loss_", got {loss_name!r}')
        if not isinstance(distill_loss, dict) or 'type' not in distill_loss:
            raise TypeError('model.distill_loss must be a loss config dict with a "type" key, '
                            f'got {distill_loss!r}')
        self.ce_weight = check_weight(ce_weight, 'model.ce_weight')
        self.loss_name = loss_name
        self.distill_loss = MODELS.build(distill_loss)
        self._loss_takes_samples = takes_data_samples(self.distill_loss)

    def loss(self, inputs: torch.Tensor, data_samples: List) -> Dict[str, torch.Tensor]:
        """Losses of one batch.

        Args:
            inputs (Tensor): (N, C, H, W) preprocessed images.
            data_samples (list[DataSample]): samples with ``gt_label``.

        Returns:
            dict: ``loss_cls`` (``ce_weight`` x the student head's loss) and ``loss_name``
            (the distillation loss), plus whatever else the head reports.
        """
        teacher_logits = self.teacher_logits(inputs)
        head_losses, student_logits = head_loss(self.student, inputs, data_samples)
        extra = (data_samples, ) if self._loss_takes_samples else ()
        losses = {'loss_cls': self.ce_weight * head_losses.pop('loss'),
                  self.loss_name: logit_loss(self.distill_loss, student_logits, teacher_logits,
                                             *extra)}
        losses.update(head_losses)
        return losses


def takes_data_samples(loss: torch.nn.Module) -> bool:
    """Whether ``loss.forward`` has a third parameter named ``data_samples`` (MMRazor's
    contract of target-aware logit losses)."""
    params = list(inspect.signature(loss.forward).parameters)
    return len(params) >= 3 and params[2] == 'data_samples'


@MODELS.register_module()
class VanillaKD(LogitDistiller):
    r"""Hinton's knowledge distillation.

    .. math::
        \mathcal{L} = (1 - \alpha)\,\mathrm{CE}(s, y)
            + \alpha\,\tau^2\,\mathrm{KL}\big(\mathrm{softmax}(t/\tau)\,\|\,
              \mathrm{softmax}(s/\tau)\big)

    reported as ``loss_cls`` (the weighted CE) and ``loss_kd`` (the weighted KL, a
    :class:`~mmstablekd.models.losses.KDLoss`). Defaults: temperature 1 as in the StableKD
    paper's KD baseline, ``alpha = 0.5`` as in Hao et al.'s VanillaKD (2023).

    Example::

        model = dict(type='VanillaKD', student=student, teacher=teacher,
                     teacher_ckpt='work_dirs/teachers_resnet34_cifar100/epoch_200.pth')

    Args:
        student (dict): Student classifier config.
        teacher (dict): Teacher classifier config.
        teacher_ckpt (str, optional): Teacher checkpoint.
        alpha (float): KD weight in [0, 1]. Defaults to 0.5.
        tau (float): Temperature (> 0). Defaults to 1.
        data_preprocessor (dict, optional): Overrides the student's preprocessor.
        init_cfg (dict, optional): Init config.
        teacher_data_preprocessor (dict, optional): The teacher's own normalisation / resize of
            the student's (mixed) batch; see :class:`BaseDistiller`.
        kd_mode (str): ``'kl'`` (Hinton's softmax KL) or ``'binary_kl'`` (the binary KL of
            Hao et al.'s ablation, eq. 3); see :class:`~mmstablekd.models.losses.KDLoss`.
            Defaults to ``'kl'``.
    """

    def __init__(self,
                 student: dict,
                 teacher: dict,
                 teacher_ckpt: Optional[str] = None,
                 alpha: float = 0.5,
                 tau: float = 1.0,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 teacher_data_preprocessor: Optional[dict] = None,
                 kd_mode: str = 'kl') -> None:
        alpha = check_number(alpha, 'model.alpha', 0.0, 1.0)
        tau = check_temperature(tau, 'model.tau')
        if kd_mode not in ('kl', 'binary_kl'):
            raise ValueError(f"model.kd_mode must be 'kl' or 'binary_kl', got {kd_mode!r}")
        super().__init__(student, teacher, ce_weight=1.0 - alpha,
                         distill_loss=dict(type='KDLoss', tau=tau, loss_weight=alpha,
                                           mode=kd_mode),
                         loss_name='loss_kd', teacher_ckpt=teacher_ckpt,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg,
                         teacher_data_preprocessor=teacher_data_preprocessor)
        self.alpha, self.tau = alpha, tau


@MODELS.register_module()
class DIST(LogitDistiller):
    r"""DIST: CE plus inter- and intra-class Pearson relations (Huang et al., NeurIPS 2022).

    .. math::
        \mathcal{L} = \alpha\,\mathrm{CE}(s, y)
            + w\,\tau^2\,(\beta\,\mathcal{L}_{inter} + \gamma\,\mathcal{L}_{intra})

    reported as ``loss_cls`` and ``loss_dist`` (a :class:`~mmstablekd.models.losses.DISTLoss`
    with the released Pearson formula, computed in fp32). Defaults
    ``alpha = beta = gamma = tau = w = 1`` (the paper's loss). The authors' released recipes
    use ``loss_weight=2`` with ``tau=1`` (ImageNet) or ``tau=4`` (CIFAR-100); see
    ``configs/dist/``.

    Args:
        student (dict): Student classifier config.
        teacher (dict): Teacher classifier config.
        teacher_ckpt (str, optional): Teacher checkpoint.
        alpha (float): CE weight (>= 0). Defaults to 1.
        beta (float): Inter-class weight (>= 0). Defaults to 1.
        gamma (float): Intra-class weight (>= 0). Defaults to 1.
        tau (float): Temperature (> 0). Defaults to 1.
        loss_weight (float): Weight ``w`` (>= 0) of the whole DIST term. Defaults to 1.
        gather_intra (bool): Intra-class term over the global batch of all processes (see
            :class:`~mmstablekd.models.losses.DISTLoss`). Defaults to False (per process,
            like the authors' code).
        data_preprocessor (dict, optional): Overrides the student's preprocessor.
        init_cfg (dict, optional): Init config.
        teacher_data_preprocessor (dict, optional): The teacher's own normalisation / resize of
            the student's (mixed) batch; see :class:`BaseDistiller`.
    """

    def __init__(self,
                 student: dict,
                 teacher: dict,
                 teacher_ckpt: Optional[str] = None,
                 alpha: float = 1.0,
                 beta: float = 1.0,
                 gamma: float = 1.0,
                 tau: float = 1.0,
                 loss_weight: float = 1.0,
                 gather_intra: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 teacher_data_preprocessor: Optional[dict] = None) -> None:
        alpha = check_weight(alpha, 'model.alpha')
        beta = check_weight(beta, 'model.beta')
        gamma = check_weight(gamma, 'model.gamma')
        tau = check_temperature(tau, 'model.tau')
        loss_weight = check_weight(loss_weight, 'model.loss_weight')
        if not isinstance(gather_intra, bool):
            raise TypeError(f'model.gather_intra must be True or False, got {gather_intra!r}')
        if gather_intra:
            check_gather_possible('model.gather_intra')
        super().__init__(student, teacher, ce_weight=alpha,
                         distill_loss=dict(type='DISTLoss', beta=beta, gamma=gamma, tau=tau,
                                           loss_weight=loss_weight, gather_intra=gather_intra),
                         loss_name='loss_dist', teacher_ckpt=teacher_ckpt,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg,
                         teacher_data_preprocessor=teacher_data_preprocessor)
        self.alpha, self.beta, self.gamma, self.tau = alpha, beta, gamma, tau
        self.loss_weight, self.gather_intra = loss_weight, gather_intra
