"""Wide Residual Network for 32x32 inputs (Zagoruyko & Komodakis, 2016), e.g. WRN16-8."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmpretrain.models.backbones.base_backbone import BaseBackbone

from mmstablekd.registry import MODELS


class WideBasicBlock(nn.Module):
    """Pre-activation basic block: BN-ReLU-conv3x3-BN-ReLU-(dropout)-conv3x3 + shortcut.

    When the width or the stride changes, the shortcut is a 1x1 conv applied to the
    pre-activated input (as in the reference WRN code); otherwise it is the identity.

    Args:
        in_channels (int): C_in.
        out_channels (int): C_out.
        stride (int): Stride of the first conv (and of the shortcut).
        drop_rate (float): Dropout probability between the two convs.
        conv_cfg (dict, optional): Conv layer config.
        norm_cfg (dict): Norm layer config.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1,
                 drop_rate: float = 0.0, conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN')) -> None:
        super().__init__()
        self.norm1 = build_norm_layer(norm_cfg, in_channels)[1]
        self.conv1 = build_conv_layer(conv_cfg, in_channels, out_channels, 3, stride=stride,
                                      padding=1, bias=False)
        self.norm2 = build_norm_layer(norm_cfg, out_channels)[1]
        self.conv2 = build_conv_layer(conv_cfg, out_channels, out_channels, 3, padding=1,
                                      bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(drop_rate) if drop_rate > 0 else nn.Identity()
        self.shortcut = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = build_conv_layer(conv_cfg, in_channels, out_channels, 1,
                                             stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W) -> (N, C_out, H/stride, W/stride)."""
        pre = self.relu(self.norm1(x))
        identity = x if self.shortcut is None else self.shortcut(pre)
        out = self.conv1(pre)
        out = self.dropout(self.relu(self.norm2(out)))
        return self.conv2(out) + identity


@MODELS.register_module()
class WideResNet_CIFAR(BaseBackbone):
    """WRN-d-k for CIFAR: a 3x3 stem conv to 16 channels, three groups of
    ``n = (d - 4) / 6`` pre-activation basic blocks of widths 16k, 32k, 64k (strides 1, 2, 2)
    and a final BN-ReLU. mmpretrain has no pre-activation WRN; this is the network of the
    WRN paper (e.g. WRN16-8: 11.0M parameters with a 100-class linear head, WRN16-10: 17.1M,
    the sizes of StableKD's Table 6).

    It is also, layer for layer, the ``wrn_d_k`` of the CRD benchmark (HobbitLong/RepDistiller
    models/wrn.py: same pre-activation blocks, 1x1 shortcut on the pre-activated input when
    the width changes, bias-free convs, final BN-ReLU; wrn-16-2 0.70M, wrn-40-2 2.26M
    parameters with 100 classes).

    The groups are the modules ``layer1``, ``layer2``, ``layer3``, named in ``res_layers`` like
    mmpretrain's ResNet stages, so they are the StableKD/SSKD default boundaries;
    ``norm_out`` (the final BN-ReLU) runs after ``layer3``, so it belongs to the block that
    follows the last boundary.

    Args:
        depth (int): d, with ``(d - 4) % 6 == 0`` (16, 22, 28, 40, ...).
        widen_factor (int): k.
        drop_rate (float): Dropout inside every block. Defaults to 0.
        out_indices (Sequence[int]): Groups (0..2) whose outputs are returned; the output of
            group 2 is taken after ``norm_out``. Defaults to (2,).
        conv_cfg (dict, optional): Conv layer config.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): Defaults to Kaiming for convs and constant
            1/0 for norms.

    Returns of ``forward``: tuple of (N, 16k*2^i, 32/2^i, 32/2^i) tensors for a 32x32 input.
    """

    def __init__(self,
                 depth: int,
                 widen_factor: int,
                 drop_rate: float = 0.0,
                 out_indices: Sequence[int] = (2, ),
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg=[dict(type='Kaiming', layer=['Conv2d']),
                           dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]):
        super().__init__(init_cfg)
        if not isinstance(depth, int) or depth < 10 or (depth - 4) % 6:
            raise ValueError(f'WideResNet_CIFAR.depth must be 6n+4 >= 10 (16, 22, 28, 40...), '
                             f'got {depth!r}')
        if not isinstance(widen_factor, int) or widen_factor < 1:
            raise ValueError(f'WideResNet_CIFAR.widen_factor must be a positive int, got '
                             f'{widen_factor!r}')
        if not 0 <= drop_rate < 1:
            raise ValueError(f'WideResNet_CIFAR.drop_rate must be in [0, 1), got {drop_rate}')
        out_indices = tuple(out_indices)
        if not out_indices or any(i not in (0, 1, 2) for i in out_indices):
            raise ValueError(f'WideResNet_CIFAR.out_indices must be a non-empty subset of '
                             f'(0, 1, 2), got {out_indices}')
        self.depth, self.widen_factor, self.out_indices = depth, widen_factor, out_indices
        blocks = (depth - 4) // 6
        widths = [16 * widen_factor * 2**i for i in range(3)]
        self.conv1 = build_conv_layer(conv_cfg, 3, 16, 3, padding=1, bias=False)
        in_ch = 16
        self.res_layers = ['layer1', 'layer2', 'layer3']
        for i, (width, stride) in enumerate(zip(widths, (1, 2, 2))):
            layer = nn.Sequential(*[
                WideBasicBlock(in_ch if b == 0 else width, width, stride if b == 0 else 1,
                               drop_rate, conv_cfg, norm_cfg) for b in range(blocks)])
            self.add_module(f'layer{i + 1}', layer)
            in_ch = width
        self.norm_out = build_norm_layer(norm_cfg, in_ch)[1]
        self.relu = nn.ReLU(inplace=True)
        self.out_channels = widths

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """(N, 3, H, W) images -> tuple of the requested group outputs."""
        x = self.conv1(x)
        outs = []
        for i in range(3):
            x = getattr(self, f'layer{i + 1}')(x)
            if i == 2:
                x = self.relu(self.norm_out(x))
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
