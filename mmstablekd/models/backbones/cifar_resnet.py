"""The 3-stage CIFAR ResNets of He et al. (2016, Sec. 4.2) as the CRD benchmark builds them.

resnet8/14/20/32/44/56/110 (stage widths 16-32-64 after a 16-channel stem) and the wide
resnet8x4/32x4 (32-channel stem, stages 64-128-256): the student/teacher networks of the
CIFAR-100 KD benchmark (Tian et al., CRD, ICLR 2020; HobbitLong/RepDistiller models/resnet.py),
reused by DKD, DIST and SSKD. mmpretrain's ``ResNet_CIFAR`` is the 4-stage ImageNet-width
ResNet (depths 18-152) and cannot express them.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmpretrain.models.backbones.base_backbone import BaseBackbone

from mmstablekd.registry import MODELS


class CifarBasicBlock(nn.Module):
    """Post-activation basic block: conv3x3-BN-ReLU-conv3x3-BN, + shortcut, ReLU.

    The shortcut is a 1x1 conv + BN (option B of He et al.) when the stride or the width
    changes, else the identity.

    Args:
        in_channels (int): C_in.
        out_channels (int): C_out.
        stride (int): Stride of the first conv and of the shortcut.
        conv_cfg (dict, optional): Conv layer config.
        norm_cfg (dict): Norm layer config.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1,
                 conv_cfg: Optional[dict] = None, norm_cfg: dict = dict(type='BN')) -> None:
        super().__init__()
        self.conv1 = build_conv_layer(conv_cfg, in_channels, out_channels, 3, stride=stride,
                                      padding=1, bias=False)
        self.norm1 = build_norm_layer(norm_cfg, out_channels)[1]
        self.conv2 = build_conv_layer(conv_cfg, out_channels, out_channels, 3, padding=1,
                                      bias=False)
        self.norm2 = build_norm_layer(norm_cfg, out_channels)[1]
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                build_conv_layer(conv_cfg, in_channels, out_channels, 1, stride=stride,
                                 bias=False),
                build_norm_layer(norm_cfg, out_channels)[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W) -> (N, C_out, H/stride, W/stride)."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.norm2(self.conv2(out))
        return self.relu(out + identity)


@MODELS.register_module()
class CifarResNet(BaseBackbone):
    """3-stage CIFAR ResNet of depth ``6n + 2`` (CRD's ``resnet<depth>``/``resnet<depth>x4``).

    Stem: conv3x3 (``stem_channels``) - BN - ReLU at full resolution. Then the stages
    ``layer1``, ``layer2``, ``layer3`` of ``n`` :class:`CifarBasicBlock` each, of widths
    ``base_channels * (1, 2, 4)`` and strides 1, 2, 2. CRD's networks (with
    ``LinearClsHead(num_classes=100)`` after ``GlobalAveragePooling``):

    ===========  =====  =============  =============  ============
    CRD name     depth  stem_channels  base_channels  parameters
    ===========  =====  =============  =============  ============
    resnet20     20     16             16             0.28M
    resnet32     32     16             16             0.47M
    resnet56     56     16             16             0.86M
    resnet110    110    16             16             1.74M
    resnet8x4    8      32             64             1.23M
    resnet32x4   32     32             64             7.43M
    ===========  =====  =============  =============  ============

    Like mmpretrain's ResNet, ``res_layers`` names the stage modules, so the StableKD/SSKD
    default boundaries are the three stage outputs (StableKD-4/n).

    Args:
        depth (int): ``6n + 2`` with ``n >= 1`` (8, 14, 20, 32, 44, 56, 110, ...).
        stem_channels (int): Stem width. Defaults to 16.
        base_channels (int): Width of ``layer1``. Defaults to 16.
        out_indices (Sequence[int]): Stages (0..2) whose outputs are returned.
            Defaults to (2,).
        conv_cfg (dict, optional): Conv layer config.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): Defaults to Kaiming-normal (fan-out) convs
            and constant 1/0 norms, CRD's initialisation.

    Returns of ``forward``: tuple of (N, base_channels * 2^i, H/2^i, W/2^i) tensors, one per
    index in ``out_indices``.
    """

    def __init__(self,
                 depth: int,
                 stem_channels: int = 16,
                 base_channels: int = 16,
                 out_indices: Sequence[int] = (2, ),
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg=[dict(type='Kaiming', layer=['Conv2d']),
                           dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]):
        super().__init__(init_cfg)
        if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
            raise ValueError(f'CifarResNet.depth must be 6n+2 >= 8 (8, 14, 20, 32, 44, 56, '
                             f'110...), got {depth!r}')
        for name, value in (('stem_channels', stem_channels), ('base_channels', base_channels)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'CifarResNet.{name} must be a positive int, got {value!r}')
        out_indices = tuple(out_indices)
        if not out_indices or any(i not in (0, 1, 2) for i in out_indices):
            raise ValueError(f'CifarResNet.out_indices must be a non-empty subset of (0, 1, 2), '
                             f'got {out_indices}')
        self.depth, self.out_indices = depth, out_indices
        self.conv1 = build_conv_layer(conv_cfg, 3, stem_channels, 3, padding=1, bias=False)
        self.norm1 = build_norm_layer(norm_cfg, stem_channels)[1]
        self.relu = nn.ReLU(inplace=True)
        blocks = (depth - 2) // 6
        widths = [base_channels * 2**i for i in range(3)]
        in_ch = stem_channels
        self.res_layers = []
        for i, (width, stride) in enumerate(zip(widths, (1, 2, 2))):
            layer = nn.Sequential(*[
                CifarBasicBlock(in_ch if b == 0 else width, width, stride if b == 0 else 1,
                                conv_cfg, norm_cfg) for b in range(blocks)])
            self.add_module(f'layer{i + 1}', layer)
            self.res_layers.append(f'layer{i + 1}')
            in_ch = width
        self.out_channels = widths

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """(N, 3, H, W) images -> tuple of the requested stage outputs."""
        x = self.relu(self.norm1(self.conv1(x)))
        outs = []
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
