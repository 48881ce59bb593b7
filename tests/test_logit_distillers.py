"""VanillaKD and DIST: their losses against independent references, pure-student predict,
frozen teacher, and clear errors for bad configs."""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

import mmstablekd  # noqa: F401  (registers the components)
from mmstablekd.registry import MODELS
from conftest import resnet_cifar_classifier


def classifier(depth: int, width: int = 4, num_classes: int = 5) -> dict:
    return resnet_cifar_classifier(depth, width, num_classes)


def build(kind, **kw):
    torch.manual_seed(0)
    model = MODELS.build(dict(type=kind, student=classifier(18), teacher=classifier(34), **kw))
    model.train()
    return model


def batch(n=6, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 32, 32, generator=g)
    labels = torch.randint(0, 5, (n, ), generator=g)
    return x, [DataSample().set_gt_label(int(y)) for y in labels], labels


def reference_logits(model, x):
    """Student logits in the same (train-mode, batch-statistics) state as in loss()."""
    with torch.no_grad():
        student = model.student(x, mode='tensor')
        teacher = model.teacher(x, mode='tensor')
    return student.double(), teacher.double()


def dist_reference(s, t, beta, gamma, tau, weight=1.0, eps=1e-8):
    """w * tau^2 * (beta * inter + gamma * intra), Pearson as released (eps on the norms)."""
    y_s, y_t = torch.softmax(s / tau, 1), torch.softmax(t / tau, 1)

    def dp(a, b, dim):
        a, b = a - a.mean(dim, keepdim=True), b - b.mean(dim, keepdim=True)
        norms = (a * a).sum(dim).sqrt() * (b * b).sum(dim).sqrt()
        return 1 - (a * b).sum(dim) / (norms + eps)

    return weight * tau**2 * (beta * dp(y_s, y_t, 1).mean() + gamma * dp(y_s, y_t, 0).mean())


@pytest.mark.parametrize('alpha,tau', [(0.5, 1.0), (0.9, 4.0), (0.0, 2.0), (1.0, 1.0)])
def test_vanilla_kd_is_hinton_loss(alpha, tau):
    model = build('VanillaKD', alpha=alpha, tau=tau)
    x, samples, labels = batch()
    state = copy.deepcopy(model.state_dict())
    losses = model.loss(x, samples)
    model.load_state_dict(state)  # undo the BN statistics update of loss()
    s, t = reference_logits(model, x)
    ce = F.cross_entropy(s, labels)
    kl = F.kl_div(F.log_softmax(s / tau, 1), F.softmax(t / tau, 1), reduction='batchmean')
    assert {'loss_cls', 'loss_kd'} <= set(losses)
    assert losses['loss_cls'].item() == pytest.approx((1 - alpha) * ce.item(), abs=1e-5)
    assert losses['loss_kd'].item() == pytest.approx(alpha * tau**2 * kl.item(), abs=1e-5)


@pytest.mark.parametrize('alpha,beta,gamma,tau,weight', [
    (1.0, 1.0, 1.0, 1.0, 1.0), (0.5, 2.0, 3.0, 4.0, 1.0),
    (1.0, 1.0, 1.0, 4.0, 2.0),  # the released CIFAR-100 recipe
    (1.0, 1.0, 1.0, 1.0, 2.0)])  # the released ImageNet recipe
def test_dist_is_ce_plus_pearson_relations(alpha, beta, gamma, tau, weight):
    model = build('DIST', alpha=alpha, beta=beta, gamma=gamma, tau=tau, loss_weight=weight)
    x, samples, labels = batch()
    state = copy.deepcopy(model.state_dict())
    losses = model.loss(x, samples)
    model.load_state_dict(state)
    s, t = reference_logits(model, x)
    assert {'loss_cls', 'loss_dist'} <= set(losses)
    assert losses['loss_cls'].item() == pytest.approx(
        alpha * F.cross_entropy(s, labels).item(), abs=1e-5)
    # An untrained net predicts almost uniformly, where Pearson on fp32 softmax outputs is
    # ill-conditioned (test_losses.py checks 1e-6 on realistic logits).
    assert losses['loss_dist'].item() == pytest.approx(
        dist_reference(s, t, beta, gamma, tau, weight).item(), rel=1e-4)


@pytest.mark.parametrize('kind', ['VanillaKD', 'DIST'])
def test_gradients_reach_student_only_and_teacher_is_frozen(kind):
    model = build(kind)
    x, samples, _ = batch()
    bn = model.teacher.backbone.bn1
    stats = bn.running_mean.clone()
    teacher_calls = []
    h = model.teacher.backbone.register_forward_hook(lambda *a: teacher_calls.append(1))
    sum(v for k, v in model.loss(x, samples).items() if k.startswith('loss')).backward()
    h.remove()
    assert len(teacher_calls) == 1
    assert all(p.grad is None for p in model.teacher.parameters())
    assert all(p.grad is not None for p in model.student.parameters())
    assert torch.equal(bn.running_mean, stats) and not model.teacher.training


@pytest.mark.parametrize('kind', ['VanillaKD', 'DIST'])
def test_predict_runs_pure_student(kind):
    model = build(kind)
    model.eval()
    x, samples, _ = batch()
    teacher_calls = []
    h = model.teacher.register_forward_pre_hook(lambda *a: teacher_calls.append(1))
    h2 = model.teacher.backbone.register_forward_pre_hook(lambda *a: teacher_calls.append(1))
    preds = model(x, copy.deepcopy(samples), mode='predict')
    h.remove()
    h2.remove()
    ref = model.student(x, copy.deepcopy(samples), mode='predict')
    assert not teacher_calls
    assert torch.equal(torch.stack([p.pred_score for p in preds]),
                       torch.stack([p.pred_score for p in ref]))


def test_defaults_build_from_student_teacher_only():
    kd = build('VanillaKD')
    dist = build('DIST')
    assert (kd.alpha, kd.tau) == (0.5, 1.0)
    assert (dist.alpha, dist.beta, dist.gamma, dist.tau) == (1.0, 1.0, 1.0, 1.0)
    assert type(kd.distill_loss).__name__ == 'KDLoss'
    assert type(dist.distill_loss).__name__ == 'DISTLoss'


@pytest.mark.parametrize('kind,kw,exc,match', [
    ('VanillaKD', dict(alpha=2), ValueError, r'model.alpha must be in \[0, 1\], got 2'),
    ('VanillaKD', dict(alpha=-0.1), ValueError, r'model.alpha must be in \[0, 1\]'),
    ('VanillaKD', dict(tau=0), ValueError, 'model.tau must be > 0, got 0'),
    ('VanillaKD', dict(alpha='0.5'), TypeError, 'model.alpha must be a number'),
    ('DIST', dict(beta=-1), ValueError, 'model.beta must be >= 0, got -1'),
    ('DIST', dict(gamma=-1), ValueError, 'model.gamma must be >= 0'),
    ('DIST', dict(alpha=-1), ValueError, 'model.alpha must be >= 0'),
    ('DIST', dict(tau=-4), ValueError, 'model.tau must be > 0'),
    ('DIST', dict(tau=0), ValueError, 'model.tau must be > 0'),
    ('DIST', dict(loss_weight=-2), ValueError, 'model.loss_weight must be >= 0'),
    ('DIST', dict(gather_intra='yes'), TypeError, 'model.gather_intra must be True or False'),
    ('DIST', dict(teacher_ckpt='/nonexistent/teacher.pth'), FileNotFoundError,
     'model.teacher_ckpt'),
])
def test_bad_configs(kind, kw, exc, match):
    with pytest.raises(exc, match=match):
        build(kind, **kw)


def test_dist_gather_needs_process_group(monkeypatch):
    monkeypatch.setenv('WORLD_SIZE', '2')  # as torchrun sets it, but no process group
    with pytest.raises(RuntimeError, match='model.gather_intra=True needs the torch.distributed'):
        build('DIST', gather_intra=True)
    assert build('DIST').gather_intra is False


def test_bad_student_config():
    with pytest.raises(TypeError, match='model.student must be a model config dict'):
        MODELS.build(dict(type='VanillaKD', student='resnet18', teacher=classifier(34)))


def test_generic_logit_distiller_passes_data_samples_to_a_target_aware_loss():
    """MMRazor's contract: a loss whose forward is (preds_S, preds_T, data_samples) gets the
    batch's samples (labels), a two-argument loss does not; no distiller of its own needed."""
    import torch.nn as nn
    seen = {}

    class TargetAware(nn.Module):
        def forward(self, preds_S, preds_T, data_samples):
            seen['labels'] = torch.cat([s.gt_label for s in data_samples])
            return (preds_S - preds_T).pow(2).mean()

    MODELS.register_module(name='_TargetAwareTestLoss', module=TargetAware)
    try:
        model = build('LogitDistiller', distill_loss=dict(type='_TargetAwareTestLoss'),
                      ce_weight=0.5, loss_name='loss_ta')
        x, samples, labels = batch()
        losses = model.loss(x, samples)
        assert torch.equal(seen['labels'], labels) and set(losses) >= {'loss_cls', 'loss_ta'}
        kd = build('LogitDistiller', distill_loss=dict(type='KDLoss', tau=2.0))
        assert not kd._loss_takes_samples and 'loss_distill' in kd.loss(x, samples)
    finally:
        MODELS.module_dict.pop('_TargetAwareTestLoss')


@pytest.mark.parametrize('kw,exc,match', [
    (dict(ce_weight=-1), ValueError, 'model.ce_weight must be >= 0'),
    (dict(ce_weight=float('nan')), ValueError, 'model.ce_weight must be a finite number'),
    (dict(loss_name='kd'), ValueError, 'model.loss_name must start with "loss_"'),
    (dict(distill_loss='KDLoss'), TypeError, 'model.distill_loss must be a loss config'),
])
def test_generic_logit_distiller_bad_configs(kw, exc, match):
    kw = dict(dict(distill_loss=dict(type='KDLoss')), **kw)
    with pytest.raises(exc, match=match):
        build('LogitDistiller', **kw)
