"""KDLoss, DISTLoss and FeatureMSELoss against references written straight from the formulas."""

import pytest
import torch
import torch.nn.functional as F

import mmstablekd  # noqa: F401  (registers the components)
from mmstablekd.registry import MODELS

SHAPES = [(2, 2), (4, 10), (8, 100), (16, 7), (3, 1000)]


def dist_reference(s, t, beta, gamma, tau):
    """DIST in float64 with explicit loops over rows and columns: the paper's equations."""
    s, t = s.double(), t.double()
    y_s, y_t = torch.softmax(s / tau, 1), torch.softmax(t / tau, 1)

    def pearson(u, v):
        du, dv = u - u.mean(), v - v.mean()
        return (du * dv).sum() / torch.sqrt((du * du).sum() * (dv * dv).sum())

    n, c = s.shape
    inter = sum(1 - pearson(y_s[i], y_t[i]) for i in range(n)) / n
    intra = sum(1 - pearson(y_s[:, j], y_t[:, j]) for j in range(c)) / c
    return tau**2 * (beta * inter + gamma * intra)


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


def test_dist_loss_weight_and_identity():
    s = torch.randn(8, 10)
    loss = MODELS.build(dict(type='DISTLoss', loss_weight=3.0))
    base = MODELS.build(dict(type='DISTLoss'))
    assert torch.allclose(loss(s, s), torch.zeros(()), atol=1e-6)  # perfect correlation
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
    (dict(tau=0), 'tau must be > 0'), (dict(beta=-1), 'beta and gamma'),
    (dict(eps=0), 'eps must be > 0')])
def test_dist_loss_bad_args(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(dict(type='DISTLoss', **kwargs))


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
