"""Train a model (a distiller or a plain mmpretrain classifier) from an MM config.

Thin wrapper over ``mmengine.runner.Runner`` with every flag of mmpretrain 1.2's
``tools/train.py``, in the same meaning and order (``--cfg-options`` last); the logic lives
in :mod:`mmstablekd.apis.runner`.
"""
import argparse
import os
import sys

from mmengine.config import DictAction

from mmstablekd.apis.distributed import release_process_group
from mmstablekd.apis.runner import build_train_cfg, run_train
from mmstablekd.engine.hooks import WorkDirLockedError


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model (distiller or classifier)')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from the given checkpoint, or from the latest one in '
                             'the work dir if no path is given')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision (fp16 on CUDA, bf16 on CPU)')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate checkpoints during training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate with the total batch size')
    parser.add_argument('--no-pin-memory', action='store_true',
                        help='pin_memory=False in every data loader')
    parser.add_argument('--no-persistent-workers', action='store_true',
                        help='persistent_workers=False in every data loader')
    parser.add_argument('--no-guards', action='store_true',
                        help='do not add the run guards (NonFiniteGuardHook, WorkDirLockHook, '
                             'ResumeStateHook) to a config that lacks them')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. train_cfg.max_epochs=3; merged '
                             'last, so they override the other flags')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    try:
        run_train(build_train_cfg(args))
    except WorkDirLockedError as e:  # refused before anything was written: no traceback
        sys.exit(f'train.py: error: {e}')
    release_process_group()


if __name__ == '__main__':
    main()
