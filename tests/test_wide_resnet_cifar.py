"""WideResNet_CIFAR: the WRN-d-k of Zagoruyko & Komodakis (pre-activation, 3 groups)."""
import pytest
import torch

import mmstablekd  # noqa: F401
from mmstablekd.registry import MODELS


def wrn_classifier(depth, k, num_classes=100):
    return MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='WideResNet_CIFAR', depth=depth, widen_factor=k),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=64 * k)))


@pytest.mark.parametrize('depth,k,millions', [(16, 8, 11.0), (16, 10, 17.1), (40, 4, 8.9),
                                              (40, 2, 2.2), (28, 10, 36.5)])
def test_parameter_counts_match_the_paper(depth, k, millions):
    # StableKD Table 6 (truncated to 0.1M): WRN16-8 11.0M, WRN16-10 17.1M, WRN40-4 8.9M,
    # WRN40-2 2.2M; the WRN paper's WRN28-10 36.5M; all with a 100-class head.
    n = sum(p.numel() for p in wrn_classifier(depth, k).parameters())
    assert int(n / 1e5) / 10 == millions


def test_group_shapes_and_structure():
    backbone = MODELS.build(dict(type='WideResNet_CIFAR', depth=16, widen_factor=2,
                                 out_indices=(0, 1, 2)))
    backbone.init_weights()
    outs = backbone(torch.randn(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(2, 32, 32, 32), (2, 64, 16, 16), (2, 128, 8, 8)]
    assert len(backbone.layer1) == 2  # (16 - 4) / 6 blocks per group
    assert backbone.layer1[0].shortcut is not None  # 16 -> 32 channels
    assert backbone.layer1[1].shortcut is None
    assert backbone.layer2[0].conv1.stride == (2, 2)
    assert bool((outs[2] >= 0).all())  # the last output is after the final BN-ReLU


def test_pre_activation_block_computes_the_reference_formula():
    block = MODELS.build(dict(type='WideResNet_CIFAR', depth=10, widen_factor=1)).layer2[0]
    block.eval()
    x = torch.randn(2, 16, 8, 8)
    pre = torch.relu(block.norm1(x))
    expected = block.conv2(torch.relu(block.norm2(block.conv1(pre)))) + block.shortcut(pre)
    assert torch.allclose(block(x), expected)


@pytest.mark.parametrize('kw,match', [(dict(depth=18), 'depth must be 6n\\+4'),
                                      (dict(widen_factor=0), 'widen_factor'),
                                      (dict(out_indices=(3, )), 'out_indices'),
                                      (dict(drop_rate=1.0), 'drop_rate')])
def test_bad_arguments_are_clear_errors(kw, match):
    cfg = dict(type='WideResNet_CIFAR', depth=16, widen_factor=2)
    cfg.update(kw)
    with pytest.raises(ValueError, match=match):
        MODELS.build(cfg)
