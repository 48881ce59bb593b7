"""DKD (decoupled KD): DKDLoss against a transcription of the released dkd_loss, its warm-up,
MMRazor's arguments and call, and the configs (CRD pairs, quickstart row)."""
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmpretrain.structures import DataSample

import mmstablekd  # noqa: F401  (registers the components)
from mmstablekd.registry import MODELS
from conftest import REPO, resnet_cifar_classifier

PAIRS = {  # config -> beta of mdistiller's configs/cifar100/dkd/<pair>.yaml
    'resnet20_r56': 2.0, 'resnet32_r110': 2.0, 'resnet8x4_r32x4': 8.0, 'vgg8_vgg13': 6.0,
    'wrn16-2_wrn40-2': 6.0}


def released_dkd(logits_student, logits_teacher, target, alpha, beta, temperature,
                 reduction='batchmean'):
    """Our transcription of mdistiller's ``dkd_loss`` (mdistiller/distillers/DKD.py): the
    target / non-target masks, ``cat_mask`` sums, ``log`` of the binary probabilities, the
    ``- 1000 * gt_mask`` trick for the non-target softmax, ``kl_div(sum) * T^2 / batch``;
    ``reduction='mean'`` is MMRazor's ``F.kl_div(..., reduction='mean')`` variant."""
    gt = torch.zeros_like(logits_student).scatter_(1, target.reshape(-1, 1), 1).bool()
    other = torch.ones_like(logits_student).scatter_(1, target.reshape(-1, 1), 0).bool()

    def cat_mask(p):
        return torch.cat([(p * gt).sum(1, keepdim=True), (p * other).sum(1, keepdim=True)], 1)

    def kl(log_q, p):
        if reduction == 'mean':
            return F.kl_div(log_q, p, reduction='mean') * temperature**2
        return F.kl_div(log_q, p, reduction='sum') * temperature**2 / target.shape[0]

    pred_s = cat_mask(F.softmax(logits_student / temperature, dim=1))
    pred_t = cat_mask(F.softmax(logits_teacher / temperature, dim=1))
    tckd = kl(torch.log(pred_s), pred_t)
    t_part2 = F.softmax(logits_teacher / temperature - 1000.0 * gt, dim=1)
    log_s_part2 = F.log_softmax(logits_student / temperature - 1000.0 * gt, dim=1)
    nckd = kl(log_s_part2, t_part2)
    return alpha * tckd + beta * nckd


def samples_of(labels):
    return [DataSample().set_gt_label(int(y)) for y in labels]


def logits(n=8, c=10, seed=0, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    return (scale * torch.randn(n, c, generator=g, dtype=torch.float64),
            scale * torch.randn(n, c, generator=g, dtype=torch.float64),
            torch.randint(0, c, (n, ), generator=g))


@pytest.fixture(autouse=True)
def no_epoch_info():
    hub = MessageHub.get_current_instance()
    hub.runtime_info.pop('epoch', None)
    yield
    hub.runtime_info.pop('epoch', None)


@pytest.mark.parametrize('tau,alpha,beta', [(4.0, 1.0, 8.0), (4.0, 1.0, 2.0), (1.0, 0.5, 6.0),
                                            (2.0, 0.0, 1.0)])
@pytest.mark.parametrize('shape', [(8, 10), (3, 100)])
def test_dkd_loss_matches_the_released_formula(tau, alpha, beta, shape):
    s, t, y = logits(*shape, seed=shape[1])
    loss = MODELS.build(dict(type='DKDLoss', tau=tau, alpha=alpha, beta=beta))
    got = loss(s.float(), t.float(), samples_of(y))
    ref = released_dkd(s, t, y, alpha, beta, tau)
    assert got.dtype == torch.float32
    assert got.item() == pytest.approx(ref.item(), rel=1e-5, abs=1e-6)


def test_dkd_loss_gradient_matches_the_released_formula():
    s, t, y = logits(6, 10, seed=3)
    s32 = s.float().requires_grad_()
    s64 = s.clone().requires_grad_()
    MODELS.build(dict(type='DKDLoss', tau=4.0, beta=8.0))(s32, t.float(), samples_of(y)).backward()
    released_dkd(s64, t, y, 1.0, 8.0, 4.0).backward()
    assert torch.allclose(s32.grad.double(), s64.grad, atol=1e-6)


def test_kd_is_tckd_plus_weighted_nckd():
    """The paper's decomposition (Eq. 7): KD = TCKD + (1 - p^t_target) * NCKD, per sample."""
    s, t, y = logits(1, 10, seed=5)
    dkd = MODELS.build(dict(type='DKDLoss', tau=2.0))
    tckd, nckd = dkd.terms(s.float(), t.float(), y)
    kd = MODELS.build(dict(type='KDLoss', tau=2.0))(s.float(), t.float())
    p_target = F.softmax(t / 2.0, dim=1)[0, y[0]].item()
    assert kd.item() == pytest.approx((tckd + (1 - p_target) * nckd).item(), rel=1e-5)


def test_mmrazor_dkd_config_ports_unchanged():
    """MMRazor's DKD config (tau, beta, loss_weight, reduction='mean') and its call
    ``loss(preds_S, preds_T, data_samples)``."""
    s, t, y = logits(8, 10, seed=7)
    loss = MODELS.build(dict(type='DKDLoss', tau=1, beta=0.5, loss_weight=1, reduction='mean'))
    got = loss(preds_S=s.float(), preds_T=t.float(), data_samples=samples_of(y))
    assert got.item() == pytest.approx(released_dkd(s, t, y, 1.0, 0.5, 1.0, 'mean').item(),
                                       rel=1e-5)
    defaults = MODELS.build(dict(type='DKDLoss'))  # MMRazor's defaults
    assert (defaults.tau, defaults.alpha, defaults.beta, defaults.loss_weight) == (4, 1, 8, 1)


@pytest.mark.parametrize('epoch,factor', [(None, 1 / 20), (0, 1 / 20), (9, 0.5), (19, 1.0),
                                          (100, 1.0)])
def test_linear_warmup_follows_the_released_code(epoch, factor):
    """mdistiller: ``min(epoch / warmup, 1)`` with its 1-based epoch; MMEngine's runner
    records the 0-based epoch in the MessageHub."""
    if epoch is not None:
        MessageHub.get_current_instance().update_info('epoch', epoch)
    s, t, y = logits(4, 10, seed=2)
    warm = MODELS.build(dict(type='DKDLoss', warmup_epochs=20))
    assert warm.warmup_factor() == pytest.approx(factor)
    full = MODELS.build(dict(type='DKDLoss'))(s.float(), t.float(), samples_of(y))
    got = warm(s.float(), t.float(), samples_of(y))
    assert got.item() == pytest.approx(factor * full.item(), rel=1e-6)


@pytest.mark.parametrize('kw,exc,match', [
    (dict(beta=-1), ValueError, 'DKDLoss.beta must be >= 0'),
    (dict(alpha=float('nan')), ValueError, 'DKDLoss.alpha must be a finite number'),
    (dict(tau=0), ValueError, 'DKDLoss.tau must be > 0'),
    (dict(loss_weight=-2), ValueError, 'DKDLoss.loss_weight must be >= 0'),
    (dict(reduction='none'), ValueError, 'DKDLoss.reduction must be one of'),
    (dict(warmup_epochs=-1), ValueError, 'DKDLoss.warmup_epochs must be >= 0'),
    (dict(warmup_epochs=2.5), TypeError, 'DKDLoss.warmup_epochs must be an int'),
])
def test_bad_dkd_arguments_fail_at_build(kw, exc, match):
    with pytest.raises(exc, match=match):
        MODELS.build(dict(type='DKDLoss', **kw))


def test_labels_must_come_with_the_predictions():
    s, t, y = logits(4, 10)
    with pytest.raises(ValueError, match='one data sample with a gt_label per prediction'):
        MODELS.build(dict(type='DKDLoss'))(s.float(), t.float(), samples_of(y[:2]))


def test_logit_distiller_with_dkd_loss_reports_ce_and_dkd():
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='LogitDistiller', student=resnet_cifar_classifier(18, 4, 5),
        teacher=resnet_cifar_classifier(34, 4, 5), ce_weight=1.0, loss_name='loss_dkd',
        distill_loss=dict(type='DKDLoss', tau=4.0, beta=8.0)))
    model.train()
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(6, 3, 32, 32, generator=g), torch.randint(0, 5, (6, ), generator=g)
    losses = model.loss(x, samples_of(y))
    with torch.no_grad():
        s = model.student(x, mode='tensor')
        t = model.teacher(x, mode='tensor')
    assert losses['loss_cls'].item() == pytest.approx(F.cross_entropy(s, y).item(), rel=1e-4)
    ref = released_dkd(s.double(), t.double(), y, 1.0, 8.0, 4.0)
    assert losses['loss_dkd'].item() == pytest.approx(ref.item(), rel=1e-4)


@pytest.mark.parametrize('pair,beta', sorted(PAIRS.items()))
def test_crd_pair_configs_carry_the_released_hyper_parameters(pair, beta):
    cfg = Config.fromfile(REPO / 'configs' / 'dkd' / f'{pair}_cifar100.py')
    assert cfg.model.type == 'LogitDistiller' and cfg.model.ce_weight == 1.0
    assert cfg.model.distill_loss == dict(type='DKDLoss', tau=4.0, alpha=1.0, beta=beta,
                                          loss_weight=1.0, warmup_epochs=20)
    assert cfg.train_cfg.max_epochs == 240 and cfg.train_dataloader.batch_size == 64
    assert cfg.optim_wrapper.optimizer.lr == 0.05
    assert cfg.work_dir == f'./work_dirs/dkd_{pair}_cifar100'
    assert Path(REPO / 'configs' / 'teachers' /
                Path(cfg.model.teacher_ckpt).parent.name.replace('teachers_', '')
                ).with_suffix('.py').is_file()


def test_crd_pair_config_builds_and_trains_a_step():
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(REPO / 'configs' / 'dkd' / 'resnet20_r56_cifar100.py')
    cfg.model.teacher_ckpt = None
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg.model)
    assert type(model.distill_loss).__name__ == 'DKDLoss' and model.distill_loss.beta == 2.0
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 5, 50, 99])
    losses = model.loss(x, samples_of(y))
    assert set(losses) == {'loss_cls', 'loss_dkd'}
    assert all(torch.isfinite(v) for v in losses.values())


def test_quickstart_row_runs_dkd():
    from kdbench import methods as mt
    row = next(m for m in mt.rows(mt.QUICKSTART) if m.name == 'DKD')
    cfg = Config.fromfile(mt.config_dir() / row.config)
    assert cfg.model.type == 'LogitDistiller' and cfg.model.distill_loss.type == 'DKDLoss'
    assert cfg.model.student.backbone.base_channels == 16  # the digits networks
    assert row.min_epochs == 1
