"""Evaluate a checkpoint with an MM config (the pure student for distiller configs).

Thin wrapper over ``mmengine.runner.Runner`` with every flag of mmpretrain 1.2's
``tools/test.py``, in the same meaning and order (``--cfg-options`` last); the logic lives in
:mod:`mmstablekd.apis.runner`.
"""
import argparse
import os

from mmengine.config import DictAction

from mmstablekd.apis.distributed import release_process_group
from mmstablekd.apis.runner import build_test_cfg, check_out_file, resolve_out_item, run_test


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file (a local path or a URL)')
    parser.add_argument('--work-dir', help='the dir to save evaluation logs')
    parser.add_argument('--out', help='write the metrics (.json/.yaml/.pkl) or the predictions '
                                      '(.pkl) to this file (checked before evaluating)')
    parser.add_argument('--out-item', choices=['metrics', 'pred'],
                        help='what --out gets: default pred for .pkl/.pickle, else metrics')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings; merged last, so they override the '
                             'other flags')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision test (test_cfg.fp16=True)')
    parser.add_argument('--show-dir', help='save the visualized predictions in this dir')
    parser.add_argument('--show', action='store_true', help='show predictions in a window')
    parser.add_argument('--interval', type=int, default=1, help='visualize every n-th sample')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='seconds each --show window stays open')
    parser.add_argument('--no-pin-memory', action='store_true',
                        help='pin_memory=False in the test data loader')
    parser.add_argument('--tta', action='store_true',
                        help="test-time augmentation: the config's tta_model/tta_pipeline, "
                             'or averaging the scores of the image and its flip')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    item = resolve_out_item(args.out, args.out_item)
    check_out_file(args.out)  # before anything is evaluated
    metrics = run_test(build_test_cfg(args), out=args.out if item == 'metrics' else None)
    release_process_group()
    return metrics


if __name__ == '__main__':
    main()
