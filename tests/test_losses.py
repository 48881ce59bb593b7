"""KDLoss, DISTLoss and FeatureMSELoss against references written straight from the formulas
(DIST: a float64 transcription of the authors' released Pearson formula)."""

import pytest
import torch
import torch.nn.functional as F

import mmstablekd  # noqa: F401  (registers the components)
from mmstablekd.registry import MODELS

SHAPES = [(2, 2), (4, 10), (8, 100), (16, 7), (3, 1000)]


def released_pearson(u, v, eps=1e-8):
    """The authors' released formula (hunto/DIST_KD), one vector pair: the cosine similarity
    of the centred vectors, with eps added to the product of the norms."""
    du, dv = u - u.mean(), v - v.mean()
    return (du * dv).sum() / (torch.sqrt((du * du).sum()) * torch.sqrt((dv * dv).sum()) + eps)


def exact_pearson(u, v, eps=0.0):
    """Textbook Pearson correlation (no eps)."""
    du, dv = u - u.mean(), v - v.mean()
    return (du * dv).sum() / torch.sqrt((du * du).sum() * (dv * dv).sum())


def dist_reference(s, t, beta, gamma, tau, weight=1.0, pearson=released_pearson, eps=1e-8):
    """DIST in float64 with explicit loops over rows and columns:
    w * tau^2 * (beta * mean_i (1 - rho(row i)) + gamma * mean_j (1 - rho(column j)))."""
    s, t = s.double(), t.double()
    y_s, y_t = torch.softmax(s / tau, 1), torch.softmax(t / tau, 1)
    n, c = s.shape
    inter = sum(1 - pearson(y_s[i], y_t[i], eps) for i in range(n)) / n
    intra = sum(1 - pearson(y_s[:, j], y_t[:, j], eps) for j in range(c)) / c
    return weight * tau**2 * (beta * inter + gamma * intra)


@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('tau', [1.0, 4.0])
@pytest.mark.parametrize('beta,gamma', [(1.0, 1.0), (2.0, 0.5)])
def test_dist_loss_matches_float64_reference(shape, tau, beta, gamma):
    g = torch.Generator().manual_seed(hash((shape, tau)) % 2**31)
    s = torch.randn(*shape, generator=g) * 3
    t = torch.randn(*shape, generator=g) * 3
    loss = MODELS.build(dict(type='DISTLoss', beta=beta, gamma=gamma, tau=tau))(s, t)
    ref = dist_reference(s, t, beta, gamma, tau)
    assert loss.dtype == torch.float32
    # 1e-6 absolute, or relative once tau^2 makes the loss larger than 1.
    assert abs(loss.double().item() - ref.item()) <= 1e-6 * max(1.0, abs(ref.item()))


@pytest.mark.parametrize('shape', [(4, 10), (8, 100), (3, 1000)])
@pytest.mark.parametrize('tau', [1.0, 4.0])
def test_dist_loss_gradient_matches_float64_reference(shape, tau):
    g = torch.Generator().manual_seed(3)
    s = torch.randn(*shape, generator=g) * 3
    t = torch.randn(*shape, generator=g) * 3
    s32, s64 = s.clone().requires_grad_(True), s.double().requires_grad_(True)
    MODELS.build(dict(type='DISTLoss', beta=2.0, gamma=1.0, tau=tau))(s32, t).backward()
    dist_reference(s64, t, 2.0, 1.0, tau).backward()
    assert torch.allclose(s32.grad.double(), s64.grad, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize('tau,weight', [(1.0, 2.0), (4.0, 2.0), (4.0, 0.5)])
def test_dist_loss_weight_and_tau_match_reference(tau, weight):
    """The released recipes' whole-term weight: w * tau^2 * (inter + intra)."""
    g = torch.Generator().manual_seed(11)
    s, t = torch.randn(16, 100, generator=g) * 2, torch.randn(16, 100, generator=g) * 2
    loss = MODELS.build(dict(type='DISTLoss', tau=tau, loss_weight=weight))(s, t)
    ref = dist_reference(s, t, 1.0, 1.0, tau, weight)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6)


def test_dist_loss_peaky_teacher_follows_released_formula():
    """A peaky teacher on 100 classes makes most class columns nearly constant over the
    batch: the released eps turns their correlation to ~0, unlike the exact correlation.
    Loss and gradient follow the released formula, and visibly differ from the exact one."""
    g = torch.Generator().manual_seed(5)
    n, c = 16, 100
    t = torch.randn(n, c, generator=g)
    t[torch.arange(n), torch.randint(0, c, (n, ), generator=g)] += 25.0  # near one-hot
    s = (torch.randn(n, c, generator=g) * 3).requires_grad_(True)
    s64 = s.detach().double().requires_grad_(True)
    loss = MODELS.build(dict(type='DISTLoss'))(s, t)
    loss.backward()
    ref = dist_reference(s64, t, 1.0, 1.0, 1.0)
    ref.backward()
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6)
    assert torch.allclose(s.grad.double(), s64.grad, rtol=1e-4, atol=1e-8)
    exact = dist_reference(s.detach(), t, 1.0, 1.0, 1.0, pearson=exact_pearson)
    assert abs(exact.item() - ref.item()) > 1e-3 * ref.item()
    # eps is an argument: a tiny one approaches the exact correlation.
    tiny = MODELS.build(dict(type='DISTLoss', eps=1e-30))(s.detach(), t)
    assert tiny.item() == pytest.approx(exact.item(), rel=1e-4)


def test_dist_loss_mmrazor_argument_names():
    """MMRazor's DISTLoss(inter_loss_weight, intra_loss_weight, tau, loss_weight,
    teacher_detach) builds unchanged and means the same as beta/gamma."""
    g = torch.Generator().manual_seed(2)
    s, t = torch.randn(8, 10, generator=g), torch.randn(8, 10, generator=g)
    razor = MODELS.build(dict(type='DISTLoss', inter_loss_weight=2.0, intra_loss_weight=0.5,
                              tau=4.0, loss_weight=2.0, teacher_detach=True))
    ours = MODELS.build(dict(type='DISTLoss', beta=2.0, gamma=0.5, tau=4.0, loss_weight=2.0))
    assert razor(s, t).item() == pytest.approx(ours(s, t).item(), rel=1e-7)
    assert razor(s, t).item() == pytest.approx(
        dist_reference(s, t, 2.0, 0.5, 4.0, 2.0).item(), rel=1e-6)
    with pytest.raises(ValueError, match='beta=1.0 and inter_loss_weight=2.0'):
        MODELS.build(dict(type='DISTLoss', beta=1.0, inter_loss_weight=2.0))
    t_grad = t.clone().requires_grad_(True)
    razor(s.clone().requires_grad_(True), t_grad).backward()
    assert t_grad.grad is None  # teacher_detach
    kept = MODELS.build(dict(type='DISTLoss', teacher_detach=False))
    kept(s, t_grad).backward()
    assert t_grad.grad is not None


def test_dist_loss_weight_and_identity():
    s = torch.randn(8, 10)
    loss = MODELS.build(dict(type='DISTLoss', loss_weight=3.0))
    base = MODELS.build(dict(type='DISTLoss'))
    # Perfect correlation: 0 up to the released eps (1 - |a|^2 / (|a|^2 + eps) per vector).
    assert loss(s, s).item() == pytest.approx(3 * dist_reference(s, s, 1, 1, 1).item(), abs=1e-6)
    assert 0 <= loss(s, s).item() < 1e-4
    exact = MODELS.build(dict(type='DISTLoss', loss_weight=3.0, eps=1e-30))
    assert exact(s, s).item() == pytest.approx(0.0, abs=1e-6)
    t = torch.randn(8, 10)
    assert torch.allclose(loss(s, t), 3 * base(s, t))


@pytest.mark.parametrize('which', ['student', 'teacher', 'both'])
@pytest.mark.parametrize('tau', [1.0, 4.0])
def test_dist_loss_constant_logits_no_nan(which, tau):
    """Constant logits: every Pearson term is 0 -> loss = tau^2 (beta + gamma), finite grads."""
    s = torch.randn(6, 5)
    t = torch.randn(6, 5)
    if which in ('student', 'both'):
        s = torch.full((6, 5), 2.5)
    if which in ('teacher', 'both'):
        t = torch.full((6, 5), -1.0)
    s.requires_grad_(True)
    loss = MODELS.build(dict(type='DISTLoss', beta=1.0, gamma=2.0, tau=tau))(s, t)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(s.grad).all()
    assert loss.item() == pytest.approx(tau**2 * 3.0, abs=1e-6)


def test_dist_loss_fp32_under_autocast():
    s = torch.randn(8, 10).bfloat16()
    t = torch.randn(8, 10).bfloat16()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = MODELS.build(dict(type='DISTLoss'))(s, t)
    assert loss.dtype == torch.float32
    ref = dist_reference(s.float(), t.float(), 1.0, 1.0, 1.0)
    assert loss.item() == pytest.approx(ref.item(), abs=1e-6)


def test_dist_loss_batch_of_one_intra_is_one():
    s, t = torch.randn(1, 10), torch.randn(1, 10)
    full = MODELS.build(dict(type='DISTLoss', beta=0.0, gamma=1.0))(s, t)
    assert full.item() == pytest.approx(1.0)


@pytest.mark.parametrize('kwargs,match', [
    (dict(tau=0), 'tau must be > 0'), (dict(tau=-4.0), 'tau must be > 0'),
    (dict(beta=-1), 'beta must be >= 0'), (dict(gamma=-0.5), 'gamma must be >= 0'),
    (dict(inter_loss_weight=-1), 'inter_loss_weight must be >= 0'),
    (dict(intra_loss_weight=-1), 'intra_loss_weight must be >= 0'),
    (dict(loss_weight=-2), 'loss_weight must be >= 0'), (dict(eps=0), 'eps must be > 0')])
def test_dist_loss_bad_args(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(dict(type='DISTLoss', **kwargs))


def test_dist_loss_gather_without_process_group(monkeypatch):
    """WORLD_SIZE > 1 (a launcher started several processes) but no process group: the
    intra-class term could not be global, so building fails and names the field."""
    monkeypatch.setenv('WORLD_SIZE', '2')
    with pytest.raises(RuntimeError, match='DISTLoss.gather_intra=True'):
        MODELS.build(dict(type='DISTLoss', gather_intra=True))
    MODELS.build(dict(type='DISTLoss'))  # per-process (default) is fine
    monkeypatch.setenv('WORLD_SIZE', '1')
    single = MODELS.build(dict(type='DISTLoss', gather_intra=True))  # one process: local batch
    s, t = torch.randn(4, 6), torch.randn(4, 6)
    assert single(s, t).item() == pytest.approx(MODELS.build(dict(type='DISTLoss'))(s, t).item())


def test_dist_loss_shape_mismatch():
    with pytest.raises(ValueError, match='same \\(N, C\\) shape'):
        MODELS.build(dict(type='DISTLoss'))(torch.randn(4, 10), torch.randn(4, 9))


@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('tau', [1.0, 4.0])
def test_kd_loss_is_tau2_kl(shape, tau):
    g = torch.Generator().manual_seed(7)
    s, t = torch.randn(*shape, generator=g) * 3, torch.randn(*shape, generator=g) * 3
    loss = MODELS.build(dict(type='KDLoss', tau=tau, loss_weight=0.7))(s, t)
    ref = tau**2 * F.kl_div(F.log_softmax(s.double() / tau, 1), F.softmax(t.double() / tau, 1),
                            reduction='batchmean')
    assert loss.item() == pytest.approx(0.7 * ref.item(), abs=1e-6, rel=1e-6)


def test_kd_loss_constant_logits():
    s = torch.full((4, 10), 3.0, requires_grad=True)
    loss = MODELS.build(dict(type='KDLoss', tau=4.0))(s, torch.zeros(4, 10))
    loss.backward()
    assert loss.item() == pytest.approx(0.0, abs=1e-7) and torch.isfinite(s.grad).all()


def test_feature_mse_is_elementwise_mean():
    s, t = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    loss = MODELS.build(dict(type='FeatureMSELoss', loss_weight=2.0))(s, t)
    assert loss.item() == pytest.approx(2.0 * ((s - t)**2).mean().item(), rel=1e-6)


@pytest.mark.parametrize('loss_type', ['KDLoss', 'DISTLoss', 'FeatureMSELoss',
                                       'FeatureL2Loss'])
@pytest.mark.parametrize('weight', [-5.0, -1, float('nan'), float('inf'), float('-inf')])
def test_every_loss_refuses_a_negative_or_non_finite_weight_at_build(loss_type, weight):
    """One shared validator: a negative weight would train away from the teacher, a NaN or
    infinite one poisons every step; the message names the loss and the field."""
    with pytest.raises(ValueError, match=f'{loss_type}.loss_weight must be'):
        MODELS.build(dict(type=loss_type, loss_weight=weight))


@pytest.mark.parametrize('loss_type', ['KDLoss', 'DISTLoss'])
@pytest.mark.parametrize('tau', [0, -1.0, float('nan'), float('inf')])
def test_every_logit_loss_refuses_a_bad_temperature(loss_type, tau):
    with pytest.raises(ValueError, match=f'{loss_type}.tau must be'):
        MODELS.build(dict(type=loss_type, tau=tau))


def test_non_numbers_are_refused_as_type_and_value_errors():
    from mmstablekd.models.utils.checks import NotANumberError
    for bad in ('1.0', True, None):
        with pytest.raises(NotANumberError, match='FeatureMSELoss.loss_weight must be a number'):
            MODELS.build(dict(type='FeatureMSELoss', loss_weight=bad))
    assert issubclass(NotANumberError, TypeError) and issubclass(NotANumberError, ValueError)
