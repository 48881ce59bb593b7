"""Evaluate a checkpoint with an MM config (the pure student for distiller configs).

Thin wrapper over ``mmengine.runner.Runner``; the logic lives in :mod:`mmstablekd.apis.runner`.
"""
import argparse

from mmengine.config import DictAction

from mmstablekd.apis.runner import build_test_cfg, run_test


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save evaluation logs')
    parser.add_argument('--out', help='dump the metrics to this json/pickle file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    return run_test(build_test_cfg(args), out=args.out)


if __name__ == '__main__':
    main()
