"""FeatureL2Loss (SSKD's psi = ||a - b||^2: sum within a sample, mean over the batch)."""
import pytest
import torch

import mmstablekd  # noqa: F401  (registers the components)
from mmstablekd.registry import MODELS


def l2_reference(s, t):
    """Float64, one sample at a time: sum of squared differences, then the batch mean."""
    s, t = s.double(), t.double()
    per_sample = [sum(float(d)**2 for d in (s[i] - t[i]).flatten()) for i in range(len(s))]
    return sum(per_sample) / len(per_sample)


@pytest.mark.parametrize('shape', [(2, 3, 4, 4), (5, 8, 2, 2), (3, 7, 16), (4, 10)])
@pytest.mark.parametrize('weight', [1.0, 0.25])
def test_matches_sum_reduced_reference(shape, weight):
    g = torch.Generator().manual_seed(sum(shape))
    s, t = torch.randn(*shape, generator=g), torch.randn(*shape, generator=g)
    loss = MODELS.build(dict(type='FeatureL2Loss', loss_weight=weight))(s, t)
    assert loss.dtype == torch.float32 and loss.dim() == 0
    assert loss.item() == pytest.approx(weight * l2_reference(s, t), rel=1e-5)
    # C*H*W times the element mean: the factor the paper's LR relies on.
    mse = MODELS.build(dict(type='FeatureMSELoss', loss_weight=weight))(s, t)
    assert loss.item() == pytest.approx(mse.item() * s[0].numel(), rel=1e-5)


def test_gradient_and_half_inputs():
    s = torch.randn(3, 4, 2, 2, requires_grad=True)
    t = torch.randn(3, 4, 2, 2)
    MODELS.build(dict(type='FeatureL2Loss'))(s, t).backward()
    assert torch.allclose(s.grad, 2 * (s - t).detach() / 3)  # d/ds of sum(...)/N
    loss = MODELS.build(dict(type='FeatureL2Loss'))(s.detach().half(), t.half())
    assert loss.dtype == torch.float32


def test_tuple_features_are_concatenated():
    g = torch.Generator().manual_seed(0)
    a = [torch.randn(2, 3, 4, generator=g), torch.randn(2, 5, generator=g)]
    b = [torch.randn(2, 3, 4, generator=g), torch.randn(2, 5, generator=g)]
    loss = MODELS.build(dict(type='FeatureL2Loss'))(a, b)
    flat_a = torch.cat([x.flatten(1) for x in a], 1)
    flat_b = torch.cat([x.flatten(1) for x in b], 1)
    assert loss.item() == pytest.approx(l2_reference(flat_a, flat_b), rel=1e-5)


def test_identical_features_give_zero():
    x = torch.randn(2, 3, 4, 4)
    assert MODELS.build(dict(type='FeatureL2Loss'))(x, x.clone()).item() == 0


@pytest.mark.parametrize('weight', [-1.0, 'a', True])
def test_bad_weight(weight):
    with pytest.raises(ValueError, match='loss_weight'):
        MODELS.build(dict(type='FeatureL2Loss', loss_weight=weight))


def test_shape_mismatch():
    with pytest.raises(ValueError, match='differ in shape'):
        MODELS.build(dict(type='FeatureL2Loss'))(torch.zeros(2, 3), torch.zeros(2, 4))


@pytest.mark.parametrize('shape,positions', [((2, 3, 4, 5), 20), ((3, 7, 16), 7), ((4, 10), 1)])
def test_channel_sum_averages_over_positions(shape, positions):
    """(N, C, H, W): channels are dim 1; (N, L, C) tokens: dim -1; (N, C): no positions."""
    g = torch.Generator().manual_seed(1)
    s, t = torch.randn(*shape, generator=g), torch.randn(*shape, generator=g)
    loss = MODELS.build(dict(type='FeatureL2Loss', reduction='channel_sum', loss_weight=0.5))
    chan = 1 if len(shape) != 3 else -1
    per_position = (s.double() - t.double()).pow(2).sum(dim=chan)  # (N, positions...)
    assert loss(s, t).item() == pytest.approx(0.5 * per_position.mean().item(), rel=1e-6)
    assert loss(s, t).item() == pytest.approx(0.5 * l2_reference(s, t) / positions, rel=1e-6)


def test_bad_reduction():
    with pytest.raises(ValueError, match='reduction'):
        MODELS.build(dict(type='FeatureL2Loss', reduction='mean'))
