"""mmpretrain ``SwinTransformer`` backbone weights -> what mmdet's ``SwinTransformer`` loads.

The two implementations share their module names (``patch_embed.projection``,
``stages.i.blocks.j.attn.w_msa.*``, ``ffn.layers.*``, ``stages.i.downsample`` at the *end* of
stage i, i < 3) and their ``nn.Unfold`` patch-merging channel order, so the tensors map
one-to-one, unchanged. What differs is around them:

* mmdet's ``SwinTransformer.init_weights`` keeps only the keys that start with
  ``backbone.`` (it strips that prefix itself) and loads them non-strictly; a file without the
  prefix would load nothing. So the keys are written *with* ``backbone.``.
* Its ``convert_weights=True`` expects the official Swin repository's names (``layers.*``,
  ``patch_embed.proj`` ...); our files are already in mmdet's names: use
  ``convert_weights=False``.
* A classifier has a norm after the last stage only (mmpretrain ``out_indices=(3, )``:
  ``norm3``); the detector has one per output (``norm0`` ... ``norm3``). The missing ones are
  new layers of the detector: they are written with LayerNorm's initial values (weight 1,
  bias 0), exactly what mmdet would start them from, and listed in the result.

Every source key must match one of the known mmpretrain Swin names, and the result must equal
mmdet's ``SwinTransformer`` of the inferred architecture key for key and shape; anything else
is a :class:`SwinConversionError`, never a partial file.
"""
import re
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch

_BLOCK = (r'norm[12]\.(weight|bias)|attn\.w_msa\.(relative_position_bias_table|'
          r'relative_position_index|qkv\.(weight|bias)|proj\.(weight|bias))|'
          r'ffn\.layers\.(0\.0|1)\.(weight|bias)')
_KNOWN = re.compile(
    r'^(patch_embed\.(projection|norm)\.(weight|bias)'
    r'|absolute_pos_embed'
    rf'|stages\.\d+\.blocks\.\d+\.({_BLOCK})'
    r'|stages\.\d+\.downsample\.(norm\.(weight|bias)|reduction\.weight)'
    r'|norm\d+\.(weight|bias))$')


class SwinConversionError(ValueError):
    """Weights that cannot be mapped onto mmdet's SwinTransformer in full."""


def is_mmpretrain_swin(state_dict: Dict[str, torch.Tensor]) -> bool:
    """Whether a prefix-free backbone state dict looks like mmpretrain's SwinTransformer."""
    return 'patch_embed.projection.weight' in state_dict and any(
        re.match(r'stages\.\d+\.blocks\.\d+\.attn\.w_msa\.', k) for k in state_dict)


def swin_arch(state_dict: Dict[str, torch.Tensor]) -> dict:
    """mmdet ``SwinTransformer`` keyword arguments that reproduce the weights' shapes."""
    proj = state_dict['patch_embed.projection.weight']  # (C, in_channels, p, p)
    depths, heads = [], []
    while f'stages.{len(depths)}.blocks.0.norm1.weight' in state_dict:
        i = len(depths)
        depths.append(len({k.split('.')[3] for k in state_dict
                           if k.startswith(f'stages.{i}.blocks.')}))
        heads.append(state_dict[f'stages.{i}.blocks.0.attn.w_msa.'
                                'relative_position_bias_table'].shape[1])
    table = state_dict['stages.0.blocks.0.attn.w_msa.relative_position_bias_table']
    window = (int(round(table.shape[0] ** 0.5)) + 1) // 2
    hidden = state_dict['stages.0.blocks.0.ffn.layers.0.0.weight'].shape[0]
    arch = dict(embed_dims=proj.shape[0], in_channels=proj.shape[1], patch_size=proj.shape[2],
                strides=(proj.shape[2], 2, 2, 2)[:len(depths)], depths=depths,
                num_heads=heads, window_size=window, mlp_ratio=_ratio(hidden, proj.shape[0]),
                qkv_bias='stages.0.blocks.0.attn.w_msa.qkv.bias' in state_dict,
                patch_norm='patch_embed.norm.weight' in state_dict,
                use_abs_pos_embed='absolute_pos_embed' in state_dict,
                out_indices=tuple(range(len(depths))), convert_weights=False)
    if arch['use_abs_pos_embed']:
        side = int(round(state_dict['absolute_pos_embed'].shape[1] ** 0.5))
        arch['pretrain_img_size'] = side * proj.shape[2]
    return arch


def swin_to_mmdet(state_dict: Dict[str, torch.Tensor]) -> Tuple[OrderedDict, List[str]]:
    """Map a prefix-free mmpretrain Swin backbone state dict to mmdet's, ``backbone.``-prefixed.

    Args:
        state_dict (dict): mmpretrain ``SwinTransformer`` weights (``patch_embed.*``,
            ``stages.*``, ``norm3.*`` ...), no ``backbone.`` prefix.

    Returns:
        tuple: (``backbone.*`` state dict for mmdet's ``SwinTransformer`` with
        ``convert_weights=False``; keys added at LayerNorm's initial values, unprefixed).

    Raises:
        SwinConversionError: for keys that are not mmpretrain Swin names, or a result that is
            not exactly mmdet's ``SwinTransformer`` state dict (keys and shapes).
    """
    unknown = [k for k in state_dict if not _KNOWN.match(k)]
    if unknown:
        raise SwinConversionError(
            f'{len(unknown)} backbone keys are not mmpretrain SwinTransformer weights that '
            f'mmdet\'s SwinTransformer has, e.g. {unknown[:3]}; nothing was written')
    arch = swin_arch(state_dict)
    reference = _mmdet_swin_state(arch)
    out = OrderedDict(state_dict)
    added = []
    for i in arch['out_indices']:
        for name, fill in (('weight', 1.0), ('bias', 0.0)):
            key = f'norm{i}.{name}'
            if key not in out and key in reference:
                out[key] = torch.full_like(reference[key], fill)
                added.append(key)
    missing = sorted(set(reference) - set(out))
    extra = sorted(set(out) - set(reference))
    shapes = [k for k in reference if k in out and out[k].shape != reference[k].shape]
    if missing or extra or shapes:
        raise SwinConversionError(
            f'the weights do not fill mmdet\'s SwinTransformer({_arch_str(arch)}): missing '
            f'{missing[:3]}, unexpected {extra[:3]}, shape mismatch {shapes[:3]}; nothing was '
            'written')
    return OrderedDict((f'backbone.{k}', out[k]) for k in reference), added


def _mmdet_swin_state(arch: dict) -> Dict[str, torch.Tensor]:
    try:
        from mmdet.models.backbones import SwinTransformer
    except ImportError as e:  # mmdet is a dependency; say so if it is broken
        raise SwinConversionError(f'mmdet is needed to check the Swin conversion: {e}')
    return SwinTransformer(**arch).state_dict()


def _ratio(hidden: int, dims: int):
    # mmdet multiplies embed_dims by mlp_ratio without rounding: keep it an int when exact.
    return hidden // dims if hidden % dims == 0 else hidden / dims


def _arch_str(arch: dict) -> str:
    return ', '.join(f'{k}={arch[k]}' for k in ('embed_dims', 'depths', 'num_heads',
                                                 'window_size'))
