"""VGG with BN for 32x32 inputs as the CRD benchmark builds it (vgg8/11/13/16/19).

The networks of HobbitLong/RepDistiller models/vgg.py (``vgg8_bn`` ... ``vgg19_bn``, used
by CRD, DKD and DIST as ``vgg8``/``vgg13``): five conv blocks of widths 64, 128, 256, 512,
512, max-pooling after the first three, global average pooling and a single
``Linear(512, num_classes)`` (no VGG fully-connected stack).
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmpretrain.models.backbones.base_backbone import BaseBackbone

from mmstablekd.registry import MODELS

# Convs per CRD block (widths 64, 128, 256, 512, 512), keyed by depth = convs + 3 (VGG
# counts its three fully-connected layers even where, as here, only one is left).
CONVS_PER_BLOCK = {
    8: (1, 1, 1, 1, 1),  # CRD cfg 'S'
    11: (1, 1, 2, 2, 2),  # 'A'
    13: (2, 2, 2, 2, 2),  # 'B'
    16: (2, 2, 3, 3, 3),  # 'D'
    19: (2, 2, 4, 4, 4),  # 'E'
}
BLOCK_WIDTHS = (64, 128, 256, 512, 512)


@MODELS.register_module()
class CifarVGG(BaseBackbone):
    """CRD's CIFAR VGG-d with BN, grouped into four stages at its resolution changes.

    Every conv is conv3x3 (with bias) - BN - ReLU. CRD's five blocks are regrouped into the
    modules ``layer1`` (block 0 + max-pool), ``layer2`` (block 1 + max-pool), ``layer3``
    (block 2 + max-pool) and ``layer4`` (blocks 3 and 4: CRD pools between them only for
    64x64 inputs, so at 32x32 they form one 4x4 stage). The layers, their order and the
    parameters are CRD's; with ``GlobalAveragePooling`` and ``LinearClsHead(512, 100)`` the
    classifier is CRD's ``vgg<depth>_bn`` (vgg8 3.96M, vgg13 9.46M parameters).

    The four stages are the StableKD/SSKD default boundaries (``stage_names``): they end where
    the width changes (StableKD, App. A: blocks by output width; blocks 3 and 4 are both
    512 wide) and at the down-sampling layers (the breakpoints SSKD recommends in its
    "Number of Stages" ablation), so VGG gets StableKD-5/n like the paper's ResNet-18.

    Args:
        depth (int): One of 8, 11, 13, 16, 19.
        out_indices (Sequence[int]): Stages (0..3) whose outputs are returned.
            Defaults to (3,).
        conv_cfg (dict, optional): Conv layer config.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
        init_cfg (dict | list[dict], optional): Defaults to Kaiming-normal (fan-out) convs
            with zero bias and constant 1/0 norms, CRD's initialisation.

    Returns of ``forward``: tuple of stage outputs for a (N, 3, 32, 32) input, of shapes
    (N, 64, 16, 16), (N, 128, 8, 8), (N, 256, 4, 4), (N, 512, 4, 4), per ``out_indices``.
    """

    def __init__(self,
                 depth: int,
                 out_indices: Sequence[int] = (3, ),
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg=[dict(type='Kaiming', layer=['Conv2d']),
                           dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]):
        super().__init__(init_cfg)
        if depth not in CONVS_PER_BLOCK:
            raise ValueError(f'CifarVGG.depth must be one of {sorted(CONVS_PER_BLOCK)}, '
                             f'got {depth!r}')
        out_indices = tuple(out_indices)
        if not out_indices or any(i not in range(4) for i in out_indices):
            raise ValueError(f'CifarVGG.out_indices must be a non-empty subset of '
                             f'(0, 1, 2, 3), got {out_indices}')
        self.depth, self.out_indices = depth, out_indices
        convs = [[w] * n for w, n in zip(BLOCK_WIDTHS, CONVS_PER_BLOCK[depth])]
        stage_widths = convs[:3] + [convs[3] + convs[4]]
        in_ch = 3
        self.stage_names = []
        for i, widths in enumerate(stage_widths):
            layers = []
            for width in widths:
                layers += [build_conv_layer(conv_cfg, in_ch, width, 3, padding=1),
                           build_norm_layer(norm_cfg, width)[1], nn.ReLU(inplace=True)]
                in_ch = width
            if i < 3:
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            self.add_module(f'layer{i + 1}', nn.Sequential(*layers))
            self.stage_names.append(f'layer{i + 1}')
        self.out_channels = [w[-1] for w in stage_widths]

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """(N, 3, H, W) images -> tuple of the requested stage outputs."""
        outs = []
        for i, name in enumerate(self.stage_names):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
