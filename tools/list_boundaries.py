"""List the candidate StableKD / SSKD boundaries of a config's networks.

    python tools/list_boundaries.py CONFIG [--all] [--probe-input-shape 3 224 224]

For a distiller config: the student and the teacher; for a plain classifier config (e.g. one
of MMPretrain's own, ``mmpretrain::convnext/convnext-tiny_32xb128_in1k.py``): its model. Each
table lists the module paths whose outputs are cuts (no gradient crosses them when they are
replaced, see ``mmstablekd/models/utils/cuts.py``) in forward order, with output shapes on the
probe input, the parameters of the block each one ends, and which ones the default
boundaries (or the config) pick.
"""
import argparse

from mmengine.config import Config, DictAction
from mmengine.hub import get_config

from mmstablekd.models.utils.boundary_listing import (config_crop_size, list_boundaries,
                                                      networks_of)
from mmstablekd.registry import MODELS


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description='List candidate block boundaries')
    parser.add_argument('config', help='distiller or classifier config file')
    parser.add_argument('--all', action='store_true',
                        help='list every cut, not only the stages and their blocks')
    parser.add_argument('--probe-input-shape', type=int, nargs=3, metavar=('C', 'H', 'W'),
                        help="probe input (default: the model's probe_input_shape, else the "
                        "config's crop size, else the backbone's img_size, else 32x32)")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, as in tools/train.py')
    args = parser.parse_args(argv)
    # 'mmpretrain::convnext/convnext-tiny_32xb128_in1k.py': a config of an installed package
    cfg = get_config(args.config) if '::' in args.config else Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    shape = args.probe_input_shape or cfg.model.get('probe_input_shape')
    crop = config_crop_size(cfg)
    if shape is None and crop:
        shape = (3, crop, crop)
    for role, net_cfg, given in networks_of(cfg):
        net_cfg.pop('init_cfg', None)
        net = MODELS.build(net_cfg)
        print(list_boundaries(net, role, shape, given, args.all))
        print()


if __name__ == '__main__':
    main()
